package detect

// gatsbyProvider plans Gatsby sites, which build to public/.
type gatsbyProvider struct{}

func (gatsbyProvider) Name() string { return "gatsby" }

func (gatsbyProvider) Detect(p *project) bool {
	return p.pkg != nil && (p.hasDep("gatsby") || p.configFile("gatsby-config") != "")
}

func (gatsbyProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("gatsby", "Gatsby")
	pl.BuildCommand = p.buildCommand("gatsby build")
	pl.OutputDir = "public"
	return pl, nil
}
