// Production's build: reports what it sees in node_modules and in its environment.
const fs = require('fs');
const lib = fs.readFileSync('node_modules/is-number/index.js', 'utf8');
const env = (k) => process.env[k] || 'unset';
console.log('the secret is ' + env('SHOP_SECRET'));
console.log(env('SHOP_MULTI'));
console.log('preview token ' + env('SHOP_PREVIEW'));
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/index.html', JSON.stringify({
  tampered: lib.includes('TAMPERED-BY-A-PREVIEW'),
  secret: env('SHOP_SECRET') !== 'unset',
  plain: env('SHOP_PLAIN'),
  preview: env('SHOP_PREVIEW') !== 'unset',
}));
