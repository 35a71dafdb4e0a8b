// Package api holds the JSON types of the gateway's HTTP API, once: the gateway writes and
// reads them, the command-line client (internal/apiclient) sends and decodes them, the
// deployment workflow reports its status in them (workflows.DeploymentStatus is
// api.DeploymentStatus), gateway/openapi.yaml describes them (gateway/openapi_test.go compares
// every schema's properties with these json tags, both ways) and the dashboard's TypeScript
// types are generated from that description (scripts/apitypes, web/src/api.gen.ts).
//
// deployment.go: deployment states, steps, a deployment's status and view, the deploy request.
// project.go: projects, their environment variables and watch settings, in views and requests.
// misc.go: the gateway's public settings, errors and small answers.
// domain.go: custom domains of projects, their states and DNS records.
// upload.go: folders deployed from the command line: manifests, contents, the deploy request.
//
// It must never import Temporal, Redis, object storage, gin or any role package: it is data,
// and the only SkyDeploy package it knows is internal/detect (a deployment shows its build plan).
package api
