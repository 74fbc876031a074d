import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The UI is served by mlflow-ts at /; `npm run dev -w packages/ui` proxies the API to a local server.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: {
      '/ajax-api': 'http://127.0.0.1:5000',
      '/get-artifact': 'http://127.0.0.1:5000',
    },
  },
});
