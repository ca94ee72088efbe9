import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The dashboard's own build, separate from vitest.config.ts: `npm run build:web` writes
 * web/dist, which the service serves at `/`. For development, `npx vite --config
 * web/vite.config.ts` serves it with hot reload and forwards /graphql (HTTP and WebSocket)
 * to a service on port 4000.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
  },
  server: {
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:4000', ws: true },
    },
  },
});
