package gateway_test

import (
	"reflect"

	"github.com/skydeploy/skydeploy/internal/api"
)

// The custom domains' wire types (kept apart from wireTypes' literal so branches merge).
func init() {
	wireTypes["Domain"] = reflect.TypeFor[api.Domain]()
	wireTypes["DNSRecord"] = reflect.TypeFor[api.DNSRecord]()
	wireTypes["DomainList"] = reflect.TypeFor[api.DomainList]()
	wireTypes["DomainRequest"] = reflect.TypeFor[api.DomainRequest]()
}
