package catalog

// The well-known relation types, in pairs of a relation and its reverse.
const (
	RelationOwnedBy       = "ownedBy"
	RelationOwnerOf       = "ownerOf"
	RelationConsumesAPI   = "consumesApi"
	RelationAPIConsumedBy = "apiConsumedBy"
	RelationProvidesAPI   = "providesApi"
	RelationAPIProvidedBy = "apiProvidedBy"
	RelationDependsOn     = "dependsOn"
	RelationDependencyOf  = "dependencyOf"
	RelationParentOf      = "parentOf"
	RelationChildOf       = "childOf"
	RelationMemberOf      = "memberOf"
	RelationHasMember     = "hasMember"
	RelationPartOf        = "partOf"
	RelationHasPart       = "hasPart"
)
