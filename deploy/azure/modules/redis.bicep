// Azure Managed Redis for the job queue: TLS only, AOF persistence (queued jobs survive a restart) and
// NoEviction (a full cache refuses writes instead of silently dropping jobs). EnterpriseCluster policy gives
// clients one endpoint; the queue's keys share the {vpncheck} hash tag, so they would also fit OSS cluster mode.
@description('Azure region.')
param location string

@description('Name of the Azure Managed Redis cluster.')
param name string

@description('SKU of the cache; Balanced_B0 is the smallest with AOF persistence.')
param skuName string = 'Balanced_B0'

@description('Resource tags.')
param tags object

resource cluster 'Microsoft.Cache/redisEnterprise@2025-04-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    minimumTlsVersion: '1.2'
    highAvailability: 'Enabled'
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-04-01' = {
  parent: cluster
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    clusteringPolicy: 'EnterpriseCluster'
    evictionPolicy: 'NoEviction'
    // KEDA's redis scaler and the bot authenticate with the access key, kept in Key Vault only.
    accessKeysAuthentication: 'Enabled'
    persistence: {
      aofEnabled: true
      aofFrequency: '1s'
      rdbEnabled: false
    }
  }
}

output name string = cluster.name
output hostName string = cluster.properties.hostName
output port int = database.properties.port
