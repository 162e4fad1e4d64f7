// Bundles each surface's own JS module (kiosk, display, counter, dashboard) with its npm
// dependencies into <surface>/static/build/<name>.js. Run by `make` (npm run build).
import { build } from "esbuild";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const surfaces = ["kiosk", "display", "counter", "dashboard", "booking"];
const entries = [];
for (const surface of surfaces) {
  const dir = join(surface, "js");
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir)) {
    if (file.endsWith(".js") && !file.startsWith("_")) {
      entries.push({ in: join(dir, file), out: join(surface, "static", "build", file.replace(/\.js$/, "")) });
    }
  }
}
if (entries.length === 0) {
  console.log("no browser modules to build");
  process.exit(0);
}
await build({
  entryPoints: entries,
  outdir: ".",
  bundle: true,
  format: "iife",
  target: ["chrome100", "firefox100", "safari15"],
  minify: true,
  sourcemap: true,
  logLevel: "info",
});
