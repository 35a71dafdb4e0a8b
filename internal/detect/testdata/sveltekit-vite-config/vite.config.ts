// As `sv create` (0.17) writes it: no svelte.config.js, the adapter is an option of the plugin.
import adapter from '@sveltejs/adapter-static';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
	plugins: [
		sveltekit({
			adapter: adapter({ pages: 'site', fallback: '200.html' })
		})
	]
});
