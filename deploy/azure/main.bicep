// vpncheck on Azure Container Apps: the bot (HTTPS ingress for Slack) and the worker (scaled by KEDA on the
// Redis queue), one user-assigned managed identity, a least-privilege custom role in every subscription the bot
// troubleshoots in, the storage that receives Network Watcher's log zips, Azure Managed Redis and Key Vault.
//
//   az deployment group create -g rg-vpncheck -f deploy/azure/main.bicep \
//     -p @deploy/azure/main.parameters.example.json -p accessPolicyYaml=@deploy/policy.example.yaml \
//     -p slackBotToken=$SLACK_BOT_TOKEN slackSigningSecret=$SLACK_SIGNING_SECRET
//
// The deploying principal needs Owner (or User Access Administrator + Contributor) on this resource group and
// Microsoft.Authorization/roleDefinitions/write + roleAssignments/write on every subscription listed.
targetScope = 'resourceGroup'

@description('Azure region of every resource; defaults to the resource group\'s.')
param location string = resourceGroup().location

@description('Prefix of every resource name (lowercase letters and digits).')
@minLength(3)
@maxLength(12)
param namePrefix string = 'vpncheck'

@description('Container image of vpncheck, pinned by tag or digest, e.g. myregistry.azurecr.io/vpncheck:0.1.0.')
param image string

@description('Subscriptions whose VPN gateways and connections the bot may troubleshoot (GUIDs).')
@minLength(1)
param subscriptionIds array

@description('Slack workspace (team) ids the bot serves, comma-separated (SLACK_TEAM_IDS); others are refused.')
@minLength(1)
param slackTeamIds string

@description('Slack bot token (xoxb-…). Stored in Key Vault only.')
@secure()
param slackBotToken string

@description('Slack signing secret of the app. Stored in Key Vault only.')
@secure()
param slackSigningSecret string

@description('Contents of the access policy YAML (deploy/policy.example.yaml shows the format).')
param accessPolicyYaml string

@description('Short names for targets, as alias=target,alias2=target2 (VPNCHECK_ALIASES).')
param aliases string = ''

@description('Days after which troubleshoot log zips are deleted from the logs container.')
@minValue(1)
@maxValue(365)
param logRetentionDays int = 30

@description('Most worker replicas KEDA may run.')
@minValue(1)
@maxValue(10)
param workerMaxReplicas int = 4

@description('Object ids of Entra ID principals (operators) allowed to manage the Key Vault secrets.')
param keyVaultAdminObjectIds array = []

@description('Tags put on every resource.')
param tags object = {
  application: 'vpncheck'
}

@description('Extra regions whose gateways get a log storage account in their own region (e.g. [\'northeurope\']): Network Watcher\'s cross-region writes are undocumented. Targets of other regions use the default account.')
param logRegions array = []

var logsContainerName = 'vpn-troubleshoot'

module identity 'modules/identity.bicep' = {
  name: 'vpncheck-identity'
  params: {
    location: location
    name: 'id-${namePrefix}'
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'vpncheck-storage'
  params: {
    location: location
    namePrefix: namePrefix
    containerName: logsContainerName
    retentionDays: logRetentionDays
    principalId: identity.outputs.principalId
    tags: tags
  }
}

// One more account per extra region, the same module and so the same hardening, lifecycle rule and grants
// (the key-listing actions scoped to that account, blob read on its container) for the bot's identity.
module regionalStorage 'modules/storage.bicep' = [for region in logRegions: {
  name: 'vpncheck-storage-${region}'
  params: {
    location: region
    namePrefix: namePrefix
    nameSuffix: region
    containerName: logsContainerName
    retentionDays: logRetentionDays
    principalId: identity.outputs.principalId
    tags: tags
  }
}]

module redis 'modules/redis.bicep' = {
  name: 'vpncheck-redis'
  params: {
    location: location
    name: 'redis-${namePrefix}-${uniqueString(resourceGroup().id)}'
    tags: tags
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'vpncheck-keyvault'
  params: {
    location: location
    name: take('kv-${namePrefix}-${uniqueString(resourceGroup().id)}', 24)
    principalId: identity.outputs.principalId
    adminObjectIds: keyVaultAdminObjectIds
    slackBotToken: slackBotToken
    slackSigningSecret: slackSigningSecret
    redisName: redis.outputs.name
    tags: tags
  }
}

// The custom role is defined once (in the first subscription) with every subscription as an assignable scope,
// then assigned in each subscription: role assignments are per subscription, so a subscription-scope grant
// needs one nested deployment per subscription (or assign the role once at a management group instead).
module troubleshootRole 'modules/troubleshoot-role.bicep' = {
  name: 'vpncheck-troubleshoot-role'
  scope: subscription(subscriptionIds[0])
  params: {
    namePrefix: namePrefix
    subscriptionIds: subscriptionIds
  }
}

module troubleshootGrants 'modules/troubleshoot-assignment.bicep' = [for sub in subscriptionIds: {
  name: 'vpncheck-troubleshoot-${sub}'
  scope: subscription(sub)
  params: {
    roleDefinitionName: troubleshootRole.outputs.roleDefinitionName
    principalId: identity.outputs.principalId
  }
}]

module apps 'modules/containerapps.bicep' = {
  name: 'vpncheck-apps'
  params: {
    location: location
    namePrefix: namePrefix
    image: image
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    subscriptionIds: join(subscriptionIds, ',')
    slackTeamIds: slackTeamIds
    storageAccountId: storage.outputs.accountId
    storageContainerUrl: storage.outputs.containerUrl
    regionalLogStores: [for (region, i) in logRegions: {
      region: region
      account_id: regionalStorage[i].outputs.accountId
      container_url: regionalStorage[i].outputs.containerUrl
    }]
    redisHost: redis.outputs.hostName
    redisPort: redis.outputs.port
    secretUris: vault.outputs.secretUris
    accessPolicyYaml: accessPolicyYaml
    aliases: aliases
    workerMaxReplicas: workerMaxReplicas
    tags: tags
  }
  dependsOn: [
    troubleshootGrants
  ]
}

@description('Slack request URL: set it for the slash command, events and interactivity (see slack-manifest.yaml).')
output slackRequestUrl string = 'https://${apps.outputs.botFqdn}/slack/events'

@description('Client id of the managed identity the bot uses (AZURE_CLIENT_ID).')
output identityClientId string = identity.outputs.clientId

@description('Storage account id passed to Network Watcher as storageId.')
output storageAccountId string = storage.outputs.accountId
