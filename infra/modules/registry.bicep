// The registry the worker image is pushed to (azd, or az acr build) and pulled from by the workers' identity.

@description('Name of the registry: letters and digits only.')
param name string

@description('Region of the registry.')
param location string

@description('Tags of the registry.')
param tags object

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    // No admin user (a password): pushes and pulls go through Entra ID.
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
