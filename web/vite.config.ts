/**
 * The web UI build: `vite build --config web/vite.config.ts` writes web/dist, which
 * platform/http/static.ts serves. `vite --config web/vite.config.ts` is a dev server that
 * proxies the API to a running `npm start`.
 *
 * Vite 8 transforms TS/JSX with Oxc; Preact's automatic JSX runtime stands in for React's,
 * so no Preact preset plugin is needed.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env.CALLPULSE_API ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Pages load on demand, so chart.js is fetched only by pages that draw charts.
    chunkSizeWarningLimit: 250,
  },
  server: {
    proxy: {
      '/api': { target: api, ws: true },
      '/media': api,
      '/docs': api,
    },
  },
});
