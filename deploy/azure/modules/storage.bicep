// The storage account Network Watcher writes the troubleshoot log zips into, and the bot reads them from.
//
// Why shared key access stays on: Network Watcher does not write with the caller's Entra token. It asks for
// the account's keys / a SAS on the caller's behalf (Microsoft's "Azure RBAC permissions required to use
// Network Watcher" lists storageAccounts/read, listServiceSas, listAccountSas and listKeys for capabilities that
// write to storage), and account / service SAS are signed with the account key, which Azure rejects when
// allowSharedKeyAccess is false. The bot itself never uses a key: it reads with Entra ID (Storage Blob Data Reader).
// Least privilege therefore means: a dedicated account holding nothing but these logs, the key-related actions
// granted on this account only (never subscription-wide), blob data read-only on this container, and old zips
// deleted by a lifecycle rule.
@description('Azure region.')
param location string

@description('Prefix of the account name.')
param namePrefix string

@description('Distinguishes an extra region\'s account from the default one (its region); empty for the default.')
param nameSuffix string = ''

@description('Name of the blob container that receives the log zips.')
param containerName string

@description('Days after which log zips are deleted.')
param retentionDays int

@description('Principal (object) id of the bot\'s managed identity.')
param principalId string

@description('Resource tags.')
param tags object

// Built-in role: Storage Blob Data Reader.
var blobDataReaderRoleId = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV2_AZURE_40: Network Watcher troubleshoot writes with a key-signed SAS, see the note above
  // checkov:skip=CKV_AZURE_43: The name is computed (st + prefix + uniqueString, cut to 24 lowercase characters)
  // checkov:skip=CKV_AZURE_206: Troubleshoot logs are re-creatable diagnostics; LRS is enough
  // checkov:skip=CKV_AZURE_59: Container Apps (consumption) reads over the public endpoint; see docs for VNet
  // checkov:skip=CKV_AZURE_35: Container Apps (consumption) egress has no fixed range to allow; see docs for VNet
  // the default account keeps the name it always had; a region's account gets one of its own
  name: take(toLower('st${namePrefix}${empty(nameSuffix) ? uniqueString(resourceGroup().id) : uniqueString(resourceGroup().id, nameSuffix)}'), 24)
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: true
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-old-troubleshoot-logs'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: retentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

// Network Watcher needs these on the account named in storageId, and nothing more (see the note above).
resource logWriterRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, namePrefix, 'troubleshoot-log-writer')
  properties: {
    roleName: '${namePrefix} troubleshoot log writer (${resourceGroup().name})'
    description: 'Lets Network Watcher VPN troubleshoot write its log zip into this storage account on the caller\'s behalf.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/read'
          'Microsoft.Storage/storageAccounts/listKeys/action'
          'Microsoft.Storage/storageAccounts/listServiceSas/action'
          'Microsoft.Storage/storageAccounts/listAccountSas/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource logWriterGrant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, logWriterRole.id)
  scope: account
  properties: {
    roleDefinitionId: logWriterRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource readerGrant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, principalId, blobDataReaderRoleId)
  scope: container
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataReaderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output accountId string = account.id
output containerUrl string = '${account.properties.primaryEndpoints.blob}${containerName}'
