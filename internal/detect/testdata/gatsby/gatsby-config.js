/**
 * @type {import('gatsby').GatsbyConfig}
 */
module.exports = {
  siteMetadata: { title: `My Gatsby Site` },
  plugins: [],
}
