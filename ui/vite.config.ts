import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  build: { outDir: "dist", emptyOutDir: true, target: "safari15", sourcemap: false },
  test: { environment: "jsdom", include: ["tests/**/*.test.ts"] },
});
