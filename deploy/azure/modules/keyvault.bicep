// Key Vault holding the Slack secrets and the Redis credentials; the container apps reference them by URI
// and read them with the managed identity (Key Vault Secrets User), so no secret sits in app configuration.
@description('Azure region.')
param location string

@description('Key Vault name (3-24 characters).')
@maxLength(24)
param name string

@description('Principal (object) id of the bot\'s managed identity.')
param principalId string

@description('Object ids of operators allowed to manage secrets (Key Vault Secrets Officer).')
param adminObjectIds array

@description('Slack bot token.')
@secure()
param slackBotToken string

@description('Slack signing secret.')
@secure()
param slackSigningSecret string

@description('Name of the Azure Managed Redis cluster whose access key is stored here.')
param redisName string

@description('Resource tags.')
param tags object

@description('Deployment time; secrets expire a year after it (utcNow is only allowed as a parameter default).')
param deployedAt string = utcNow()

var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'    // Key Vault Secrets User
var secretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7' // Key Vault Secrets Officer
// Secrets expire after a year so rotation is not forgotten; redeploy (or rotate) before then.
var secretExpiry = dateTimeToEpoch(dateTimeAdd(deployedAt, 'P365D'))

resource redisCluster 'Microsoft.Cache/redisEnterprise@2025-04-01' existing = {
  name: redisName
}

resource redisDatabase 'Microsoft.Cache/redisEnterprise/databases@2025-04-01' existing = {
  parent: redisCluster
  name: 'default'
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: Container Apps (consumption) resolves Key Vault references over the public endpoint
  // checkov:skip=CKV_AZURE_189: Container Apps (consumption) resolves Key Vault references over the public endpoint
  // checkov:skip=CKV2_AZURE_32: No private endpoint without a VNet-integrated environment; see docs/deploy.md
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource slackBotTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'slack-bot-token'
  properties: {
    value: slackBotToken
    contentType: 'text/plain'
    attributes: {
      enabled: true
      exp: secretExpiry
    }
  }
}

resource slackSigningSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'slack-signing-secret'
  properties: {
    value: slackSigningSecret
    contentType: 'text/plain'
    attributes: {
      enabled: true
      exp: secretExpiry
    }
  }
}

resource redisPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'redis-password'
  properties: {
    value: redisDatabase.listKeys().primaryKey
    contentType: 'text/plain'
    attributes: {
      enabled: true
      exp: secretExpiry
    }
  }
}

// The URL the app reads (REDIS_URL): TLS (rediss://) on Azure Managed Redis' port 10000.
resource redisUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'redis-url'
  properties: {
    value: 'rediss://:${redisDatabase.listKeys().primaryKey}@${redisCluster.properties.hostName}:10000/0'
    contentType: 'text/plain'
    attributes: {
      enabled: true
      exp: secretExpiry
    }
  }
}

resource appReads 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, secretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource adminsManage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for objectId in adminObjectIds: {
  name: guid(vault.id, objectId, secretsOfficerRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficerRoleId)
    principalId: objectId
  }
}]

@description('Versionless secret URIs, so Container Apps picks up rotated values.')
output secretUris object = {
  slackBotToken: '${vault.properties.vaultUri}secrets/${slackBotTokenSecret.name}'
  slackSigningSecret: '${vault.properties.vaultUri}secrets/${slackSigningSecretSecret.name}'
  redisPassword: '${vault.properties.vaultUri}secrets/${redisPasswordSecret.name}'
  redisUrl: '${vault.properties.vaultUri}secrets/${redisUrlSecret.name}'
}
