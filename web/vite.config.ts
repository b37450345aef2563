/// <reference types="vitest/config" />
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// keepPlaceholder writes dist/.keep back after Vite empties dist/: the Go
// build embeds dist/, and a fresh clone has only that placeholder there.
function keepPlaceholder(): Plugin {
  return {
    name: 'portico-keep-placeholder',
    apply: 'build',
    closeBundle() {
      writeFileSync(
        resolve(import.meta.dirname, 'dist/.keep'),
        'This placeholder keeps web/dist in a fresh clone, so that the Go build\n' +
          'embeds something without Node.js. `go generate ./web` builds the UI here.\n',
      );
    },
  };
}

// The development server (npm run dev) proxies the API to a running
// `portico serve` on port 7007.
const backend = process.env.PORTICO_URL ?? 'http://localhost:7007';

export default defineConfig({
  plugins: [react(), keepPlaceholder()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/api': { target: backend, ws: true, changeOrigin: true },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    // CI machines are small and shared: allow slow renders rather than fail.
    testTimeout: 20_000,
  },
});
