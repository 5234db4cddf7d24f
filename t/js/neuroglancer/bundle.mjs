// bundle.mjs - builds Neuroglancer's viewer from its npm package (unbundled ES modules) with
// esbuild, offline, into OUTDIR: index.html, ng/ (the page's bundle and the chunk worker) and
// async_computation.bundle.js beside ng/, where the package's `new URL(...)` calls look.
//
// usage: node bundle.mjs OUTDIR
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync }
	from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const lib = join(here, "node_modules", "neuroglancer", "lib");
const icons = join(here, "node_modules", "ikonate", "icons");

if (process.argv.length !== 3) {
	console.error("usage: node bundle.mjs OUTDIR");
	process.exit(2);
}
const out = resolve(process.argv[2]);
if (!existsSync(lib)) {
	console.error(`bundle.mjs: no neuroglancer package at '${lib}': run npm ci in ${here}`);
	process.exit(1);
}

// Neuroglancer pins ikonate to a git commit that has three icons the registry's ikonate 1.1.1
// lacks (package.json overrides it to 1.1.1); these stand in for them, drawn in ikonate's style
// (24x24, stroked with currentColor), so the buttons that use them still show something.
const standins = {
	"code-alt.svg": '<polyline points="8 7 3 12 8 17"/><polyline points="16 7 21 12 16 17"/>' +
		'<line x1="14" y1="5" x2="10" y2="19"/>',
	"controls-alt.svg": '<line x1="4" y1="7" x2="20" y2="7"/><line x1="4" y1="17" x2="20" y2="17"/>' +
		'<circle cx="9" cy="7" r="2"/><circle cx="15" cy="17" r="2"/>',
	"layers.svg": '<polygon points="12 4 21 9 12 14 3 9"/><polyline points="3 13 12 18 21 13"/>',
};
function standin(name) {
	return '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24" ' +
		'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="square">' +
		standins[name] + "</svg>\n";
}

// Neuroglancer imports its icons as "ikonate/icons/NAME.svg?raw" (the SVG's text).
const rawSvg = {
	name: "svg-raw",
	setup(b) {
		b.onResolve({ filter: /\.svg\?raw$/ }, async (args) => {
			const spec = args.path.slice(0, -"?raw".length);
			const m = /^ikonate\/icons\/([^/]+\.svg)$/.exec(spec);
			if (m && !existsSync(join(icons, m[1]))) {
				if (!(m[1] in standins))
					return { errors: [{ text: `ikonate 1.1.1 has no icon '${m[1]}'` }] };
				return { path: m[1], namespace: "standin-icon" };
			}
			const r = await b.resolve(spec, { resolveDir: args.resolveDir, kind: args.kind });
			if (r.errors.length)
				return { errors: r.errors };
			return { path: r.path, namespace: "svg-raw" };
		});
		b.onLoad({ filter: /.*/, namespace: "svg-raw" }, (args) => ({
			contents: readFileSync(args.path, "utf8"), loader: "text",
		}));
		b.onLoad({ filter: /.*/, namespace: "standin-icon" }, (args) => ({
			contents: standin(args.path), loader: "text",
		}));
	},
};

mkdirSync(join(out, "ng"), { recursive: true });
await build({
	entryPoints: [
		{ in: join(lib, "main.bundle.js"), out: "ng/main.bundle" },
		{ in: join(lib, "chunk_worker.bundle.js"), out: "ng/chunk_worker.bundle" },
		// data_management_context.js asks for "./chunk_worker.bundle.js" and
		// async_computation/request.js for "../async_computation.bundle.js", both from the
		// bundle they were folded into (ng/).
		{ in: join(lib, "async_computation.bundle.js"), out: "async_computation.bundle" },
	],
	outdir: out,
	bundle: true,
	format: "esm",
	target: "es2022",
	minify: true,
	sourcemap: false,
	logLevel: "warning",
	plugins: [rawSvg],
	loader: { ".wasm": "file" },
});

// The decoders that fetch their WebAssembly with new URL("./x.wasm", import.meta.url), from
// whichever bundle they ended up in.
function wasms(dir) {
	for (const e of readdirSync(dir, { withFileTypes: true })) {
		const p = join(dir, e.name);
		if (e.isDirectory())
			wasms(p);
		else if (e.name.endsWith(".wasm")) {
			copyFileSync(p, join(out, e.name));
			copyFileSync(p, join(out, "ng", e.name));
		}
	}
}
wasms(lib);

writeFileSync(join(out, "index.html"), `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>neuroglancer</title>
<link rel="stylesheet" href="ng/main.bundle.css">
<style>html, body { margin: 0; height: 100%; overflow: hidden; }
#neuroglancer-container { height: 100%; }</style>
</head>
<body>
<div id="neuroglancer-container"></div>
<script type="module" src="ng/main.bundle.js"></script>
</body>
</html>
`);
console.log(`bundle.mjs: neuroglancer in ${out}`);
