// Assigns the troubleshoot role to the bot's identity in one subscription.
targetScope = 'subscription'

@description('GUID name of the custom role definition (defined with this subscription as an assignable scope).')
param roleDefinitionName string

@description('Principal (object) id of the managed identity.')
param principalId string

var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleDefinitionId)
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
