/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

// web/dist/.gitkeep is tracked in git so that `//go:embed all:dist` compiles
// without a build; Vite empties dist on every build, so put it back.
function keepGitkeep(): Plugin {
  return {
    name: 'skydeploy-keep-gitkeep',
    apply: 'build',
    closeBundle() {
      const f = resolve(__dirname, 'dist/.gitkeep');
      if (!existsSync(f)) writeFileSync(f, '');
    },
  };
}

// During `npm run dev` / `npm run preview`, /api is proxied to a gateway
// (or to e2e/mock-api.mjs): SKYDEPLOY_API=http://127.0.0.1:3001 by default.
const api = process.env.SKYDEPLOY_API || 'http://127.0.0.1:3001';
const proxy = { '/api': { target: api, changeOrigin: false } };

export default defineConfig({
  plugins: [react(), tailwindcss(), keepGitkeep()],
  server: { proxy },
  preview: { proxy },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});
