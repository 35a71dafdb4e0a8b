package detect

import (
	"encoding/json"
	"path"
	"sort"
	"strings"
)

// angularProvider plans Angular CLI apps: single-page apps whose output path angular.json says.
type angularProvider struct{}

func (angularProvider) Name() string { return "angular" }

func (angularProvider) Detect(p *project) bool {
	return p.pkg != nil && (p.exists("angular.json") || p.hasDep("@angular/core") && p.hasDep("@angular/cli"))
}

// angularWorkspace is the part of angular.json that says where a build goes.
type angularWorkspace struct {
	DefaultProject string `json:"defaultProject"`
	Projects       map[string]struct {
		ProjectType string `json:"projectType"`
		Architect   struct {
			Build struct {
				Builder string `json:"builder"`
				Options struct {
					OutputPath json.RawMessage `json:"outputPath"`
					SSR        json.RawMessage `json:"ssr"`
					Server     string          `json:"server"`
				} `json:"options"`
			} `json:"build"`
		} `json:"architect"`
	} `json:"projects"`
}

func (angularProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("angular", "Angular")
	pl.BuildCommand = p.buildCommand("ng build")
	pl.SPA = true
	name := "app"
	if p.pkg.Name != "" {
		name = path.Base(p.pkg.Name)
	}
	pl.OutputDir = "dist/" + name + "/browser"
	pl.OutputCandidates = []string{pl.OutputDir, "dist/" + name}
	if !p.exists("angular.json") {
		pl.Notes = append(pl.Notes, "no angular.json; guessing the output from the package name")
		return pl, nil
	}
	text, err := p.readText("angular.json")
	if err != nil {
		return Plan{}, err
	}
	var ws angularWorkspace
	if err := json.Unmarshal([]byte(text), &ws); err != nil || len(ws.Projects) == 0 {
		pl.Notes = append(pl.Notes, "angular.json could not be read as JSON with projects; guessing the output from the package name")
		return pl, nil
	}
	proj := angularProjectName(ws)
	if len(ws.Projects) > 1 {
		pl.Notes = append(pl.Notes, "angular.json has several projects; building the output of "+proj)
	}
	build := ws.Projects[proj].Architect.Build
	application := strings.HasSuffix(build.Builder, ":application")
	out := "dist/" + proj
	browser := "browser" // the application builder's default sub-directory
	var s string
	var obj struct {
		Base    string  `json:"base"`
		Browser *string `json:"browser"`
	}
	if json.Unmarshal(build.Options.OutputPath, &s) == nil && s != "" {
		out = s
	} else if json.Unmarshal(build.Options.OutputPath, &obj) == nil && obj.Base != "" {
		out = obj.Base
		application = true // the object form exists only for the application builder
		if obj.Browser != nil {
			browser = *obj.Browser
		}
	}
	if application {
		out = path.Join(out, browser)
	}
	if d, ok := relDir(out); ok {
		pl.OutputDir = d
	}
	pl.OutputCandidates = nil
	if len(build.Options.SSR) > 0 && string(build.Options.SSR) != "false" || build.Options.Server != "" {
		pl.Notes = append(pl.Notes, "Angular SSR is configured; only the browser build is served (with SSR it may hold index.csr.html instead of index.html)")
	}
	return pl, nil
}

// angularProjectName picks the application to build: defaultProject, else the only (or first
// by name) project of type application.
func angularProjectName(ws angularWorkspace) string {
	if _, ok := ws.Projects[ws.DefaultProject]; ok {
		return ws.DefaultProject
	}
	var names, apps []string
	for n, pr := range ws.Projects {
		names = append(names, n)
		if pr.ProjectType == "application" {
			apps = append(apps, n)
		}
	}
	sort.Strings(names)
	sort.Strings(apps)
	if len(apps) > 0 {
		return apps[0]
	}
	return names[0]
}
