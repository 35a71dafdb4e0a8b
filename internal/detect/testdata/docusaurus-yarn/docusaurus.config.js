// @ts-check
/** @type {import('@docusaurus/types').Config} */
const config = {
  title: 'My Site',
  url: 'https://example.com',
  baseUrl: '/',
};

export default config;
