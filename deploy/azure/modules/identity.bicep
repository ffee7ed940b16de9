// The one identity of both roles. No client secret exists: Container Apps hands out its tokens.
@description('Azure region.')
param location string

@description('Name of the user-assigned managed identity.')
param name string

@description('Resource tags.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
