package catalog_test

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/internal/catalog"
)

func ExampleParseRef() {
	ref, err := catalog.ParseRef("team-a/Artist-Web", catalog.RefDefaults{Kind: "Component"})
	if err != nil {
		panic(err)
	}
	fmt.Println(ref.Kind, ref.Namespace, ref.Name)
	fmt.Println(ref)
	// Output:
	// Component team-a Artist-Web
	// component:team-a/artist-web
}

func ExamplePipeline_Process() {
	reg, err := catalog.NewRegistry(catalog.KindDefinition{
		Kind:        "ServiceAccount",
		APIVersions: []string{"my-company.net/v1"},
		Relations: []catalog.RelationRule{{
			Field: "spec.maintainer", Type: "myCompany-maintainedBy", Reverse: "myCompany-maintainerOf", TargetKind: "User",
		}},
	})
	if err != nil {
		panic(err)
	}
	p := catalog.NewDefaultPipeline(reg, catalog.DefaultValidators())
	docs, _ := catalog.ParseYAML([]byte(`
apiVersion: my-company.net/v1
kind: ServiceAccount
metadata:
  name: deployer
spec:
  maintainer: jdoe
`))
	e, err := catalog.DecodeEntity(docs[0].Value)
	if err != nil {
		panic(err)
	}
	res := p.Process(context.Background(), e, catalog.LocationSpec{Type: "file", Target: "/catalog-info.yaml"})
	fmt.Println(res.OK())
	for _, r := range res.Relations {
		fmt.Println(r.Source, r.Type, r.Target)
	}
	// Output:
	// true
	// serviceaccount:default/deployer myCompany-maintainedBy user:default/jdoe
	// user:default/jdoe myCompany-maintainerOf serviceaccount:default/deployer
}
