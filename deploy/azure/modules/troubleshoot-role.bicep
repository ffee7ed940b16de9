// The custom role of the bot: run VPN troubleshoot, read what it needs to find targets and poll results, and
// the first look's live signals (IKE SAs, BGP peer status, Resource Health, tunnel metrics).
// Nothing else: no write on any network resource, no storage actions (those are granted on the logs account only).
targetScope = 'subscription'

@description('Prefix of the role name.')
param namePrefix string

@description('Subscriptions where the role may be assigned.')
param subscriptionIds array

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(tenant().tenantId, namePrefix, 'vpn-troubleshoot')
  properties: {
    roleName: '${namePrefix} VPN troubleshoot operator'
    description: 'Run Network Watcher VPN troubleshoot on gateways and connections and read the results.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Network/networkWatchers/troubleshoot/action'
          'Microsoft.Network/networkWatchers/queryTroubleshootResult/action'
          'Microsoft.Network/networkWatchers/read'
          'Microsoft.Network/virtualNetworkGateways/read'
          'Microsoft.Network/connections/read'
          'Microsoft.Resources/subscriptions/resources/read'
          'Microsoft.Network/locations/operationResults/read'
          // the first look, read while the troubleshoot waits: IKE SAs, BGP peers, Resource Health, metrics
          'Microsoft.Network/connections/getikesas/action'
          'Microsoft.Network/virtualNetworkGateways/getbgppeerstatus/action'
          'Microsoft.ResourceHealth/availabilityStatuses/read'
          'Microsoft.Insights/metrics/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [for sub in subscriptionIds: '/subscriptions/${sub}']
  }
}

@description('GUID name of the role; the same definition is addressed from every assignable subscription.')
output roleDefinitionName string = role.name
