// The Container Apps environment and both roles of the one image: the bot (external HTTPS ingress, Slack posts
// to /slack/events) and the worker (no ingress, scaled by KEDA's redis scaler on the queue length).
@description('Azure region.')
param location string

@description('Prefix of resource names.')
param namePrefix string

@description('Container image reference.')
param image string

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of the user-assigned managed identity (AZURE_CLIENT_ID for DefaultAzureCredential).')
param identityClientId string

@description('Comma-separated subscription ids (AZURE_SUBSCRIPTION_IDS).')
param subscriptionIds string

@description('Slack workspace ids served (SLACK_TEAM_IDS).')
param slackTeamIds string

@description('Storage account id passed to Network Watcher (AZURE_STORAGE_ACCOUNT_ID).')
param storageAccountId string

@description('Logs container URL passed to Network Watcher (AZURE_STORAGE_CONTAINER_URL).')
param storageContainerUrl string

@description('Log storage of extra regions, [{region, account_id, container_url}] (AZURE_STORAGE_BY_REGION).')
param regionalLogStores array = []

@description('Host name of Azure Managed Redis.')
param redisHost string

@description('TLS port of Azure Managed Redis.')
param redisPort int

@description('Key Vault secret URIs: slackBotToken, slackSigningSecret, redisPassword, redisUrl.')
param secretUris object

@description('Contents of the access policy YAML, mounted at /etc/vpncheck/policy.yaml.')
param accessPolicyYaml string

@description('VPNCHECK_ALIASES value.')
param aliases string

@description('Most worker replicas.')
param workerMaxReplicas int

@description('Resource tags.')
param tags object

var keyVaultSecrets = [
  {
    name: 'slack-bot-token'
    keyVaultUrl: secretUris.slackBotToken
    identity: identityId
  }
  {
    name: 'slack-signing-secret'
    keyVaultUrl: secretUris.slackSigningSecret
    identity: identityId
  }
  {
    name: 'redis-url'
    keyVaultUrl: secretUris.redisUrl
    identity: identityId
  }
  {
    name: 'redis-password'
    keyVaultUrl: secretUris.redisPassword
    identity: identityId
  }
]

// The policy is not a secret, but Container Apps mounts files only from secrets (or Azure Files).
var policySecret = {
  name: 'access-policy'
  value: accessPolicyYaml
}

var commonEnv = [
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  { name: 'AZURE_SUBSCRIPTION_IDS', value: subscriptionIds }
  { name: 'SLACK_TEAM_IDS', value: slackTeamIds }
  { name: 'AZURE_STORAGE_ACCOUNT_ID', value: storageAccountId }
  { name: 'AZURE_STORAGE_CONTAINER_URL', value: storageContainerUrl }
  { name: 'AZURE_STORAGE_BY_REGION', value: string(regionalLogStores) }
  { name: 'VPNCHECK_POLICY_FILE', value: '/etc/vpncheck/policy.yaml' }
  { name: 'VPNCHECK_ALIASES', value: aliases }
  { name: 'LOG_FORMAT', value: 'json' }
  { name: 'LOG_LEVEL', value: 'INFO' }
  { name: 'PORT', value: '3000' }
  { name: 'METRICS_PORT', value: '9100' }
  { name: 'SLACK_BOT_TOKEN', secretRef: 'slack-bot-token' }
  { name: 'SLACK_SIGNING_SECRET', secretRef: 'slack-signing-secret' }
  { name: 'REDIS_URL', secretRef: 'redis-url' }
]

var policyVolume = {
  name: 'policy'
  storageType: 'Secret'
  secrets: [
    {
      secretRef: 'access-policy'
      path: 'policy.yaml'
    }
  ]
}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${namePrefix}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: 'cae-${namePrefix}'
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
  }
}

resource bot 'Microsoft.App/containerApps@2024-03-01' = {
  name: 'ca-${namePrefix}-bot'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      secrets: concat(keyVaultSecrets, [policySecret])
      ingress: {
        external: true
        targetPort: 3000
        transport: 'http'
        allowInsecure: false
      }
    }
    template: {
      containers: [
        {
          name: 'bot'
          image: image
          args: [
            'serve'
          ]
          env: commonEnv
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: 9100  // METRICS_PORT: health is never on the Slack port (ingress: 3000 only)
              }
              periodSeconds: 2
              failureThreshold: 30
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 9100
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 9100
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
          volumeMounts: [
            {
              volumeName: 'policy'
              mountPath: '/etc/vpncheck'
            }
          ]
        }
      ]
      volumes: [
        policyVolume
      ]
      scale: {
        // Slack allows 3 s to acknowledge a command: never scale the bot to zero.
        minReplicas: 1
        maxReplicas: 3
      }
    }
  }
}

resource worker 'Microsoft.App/containerApps@2024-03-01' = {
  name: 'ca-${namePrefix}-worker'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      secrets: concat(keyVaultSecrets, [policySecret])
    }
    template: {
      containers: [
        {
          name: 'worker'
          image: image
          args: [
            'worker'
          ]
          env: commonEnv
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: 9100
              }
              periodSeconds: 15
              failureThreshold: 4
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: 9100
              }
              periodSeconds: 15
              failureThreshold: 3
            }
          ]
          volumeMounts: [
            {
              volumeName: 'policy'
              mountPath: '/etc/vpncheck'
            }
          ]
        }
      ]
      volumes: [
        policyVolume
      ]
      scale: {
        minReplicas: 1
        maxReplicas: workerMaxReplicas
        rules: [
          {
            name: 'redis-queue'
            custom: {
              type: 'redis'
              metadata: {
                address: '${redisHost}:${redisPort}'
                listName: '{vpncheck}:pending'
                listLength: '8'
                enableTLS: 'true'
              }
              auth: [
                {
                  secretRef: 'redis-password'
                  triggerParameter: 'password'
                }
              ]
            }
          }
        ]
      }
    }
  }
}

output botFqdn string = bot.properties.configuration.ingress.fqdn
