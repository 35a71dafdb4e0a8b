package detect

// docusaurusProvider plans Docusaurus (v2+) sites, which build to build/.
type docusaurusProvider struct{}

func (docusaurusProvider) Name() string { return "docusaurus" }

func (docusaurusProvider) Detect(p *project) bool {
	return p.pkg != nil && (p.hasDep("@docusaurus/core") || p.configFile("docusaurus.config") != "")
}

func (docusaurusProvider) Plan(p *project) (Plan, error) {
	pl := p.nodePlan("docusaurus", "Docusaurus")
	pl.BuildCommand = p.buildCommand("docusaurus build")
	pl.OutputDir = "build"
	return pl, nil
}
