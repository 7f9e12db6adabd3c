import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The status page (issue #16): built into dist/status-ui and served by the
 * admin at /status/ behind its login. Every asset is local (no CDN): many
 * networks that run Tributary reach none.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/status/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../../../dist/status-ui', import.meta.url)),
    emptyOutDir: true,
    // One small bundle; no inline scripts, so the page's CSP can forbid them.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
