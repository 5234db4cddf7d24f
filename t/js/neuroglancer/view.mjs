// view.mjs - opens a Neuroglancer page in headless chromium with a viewer state, waits until
// the viewer says every visible chunk is drawn, and takes a screenshot of its data panel.
//
// usage: node view.mjs PAGE_URL STATE_JSON OUT_PREFIX [TIMEOUT_S]
//
// Writes OUT_PREFIX.png (the panel as the page shows it), OUT_PREFIX.gray (its red channel,
// row by row, one byte a pixel) and OUT_PREFIX.json: the panel's width and height, how many
// pixels are not grey (R, G, B differ), and the viewer's state once ready (position and zoom
// as neuroglancer settled them).  Exit 0 when done, 1 when the viewer failed or timed out
// (with what its status line and the page's console said), 2 for a usage error.
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { PNG } from "pngjs";

if (process.argv.length < 5 || process.argv.length > 6) {
	console.error("usage: node view.mjs PAGE_URL STATE_JSON OUT_PREFIX [TIMEOUT_S]");
	process.exit(2);
}
const [pageUrl, stateFile, outPrefix] = process.argv.slice(2, 5);
const timeoutMs = 1000 * Number(process.argv[5] ?? 120);
const state = JSON.parse(readFileSync(stateFile, "utf8"));
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

const browser = await chromium.launch({
	executablePath,
	headless: true,
	// WebGL2 without a GPU: chromium's software renderer (SwiftShader through ANGLE).
	// As root (CI), chromium runs only without its sandbox; a container's small /dev/shm
	// would crash it.
	args: ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
		"--no-sandbox", "--disable-dev-shm-usage"],
	timeout: timeoutMs,
});
let rc = 1;
try {
	const page = await browser.newPage({ viewport: { width: 800, height: 600 },
		deviceScaleFactor: 1 });
	// On a loaded machine, compiling the bundle and the viewer's shaders in software takes
	// longer than playwright's 30 s default.
	page.setDefaultTimeout(timeoutMs);
	const log = [];
	page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
	page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
	page.on("requestfailed", (r) => log.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
	await page.goto(pageUrl + "#!" + encodeURIComponent(JSON.stringify(state)));

	// Ready: the viewer has its layers, every one is ready, and it stays so a moment later
	// (as neuroglancer's own screenshot tool asks: chunks can arrive between two frames).
	const ready = () => page.evaluate(() => {
		const v = window.viewer;
		if (v === undefined || v.layerManager.managedLayers.length === 0)
			return false;
		return v.isReady();
	});
	const t0 = Date.now();
	let streak = 0;
	while (streak < 3) {
		if (Date.now() - t0 > timeoutMs) {
			const status = await page.evaluate(() =>
				Array.from(document.querySelectorAll(".neuroglancer-status, " +
					".neuroglancer-layer-item"), (e) => e.textContent).join(" | "))
				.catch((e) => String(e));
			console.error(`view.mjs: the viewer was not ready after ${timeoutMs / 1000} s; ` +
				`status: ${status}`);
			for (const l of log.slice(-40))
				console.error(`view.mjs: ${l}`);
			throw new Error("timeout");
		}
		streak = (await ready()) ? streak + 1 : 0;
		await page.waitForTimeout(250);
	}

	// The data panel: the largest rendered panel on the page.
	const rect = await page.evaluate(() => {
		let best = null;
		for (const e of document.querySelectorAll(".neuroglancer-rendered-data-panel")) {
			const r = e.getBoundingClientRect();
			if (best === null || r.width * r.height > best.width * best.height)
				best = { x: r.x, y: r.y, width: r.width, height: r.height };
		}
		return best;
	});
	if (rect === null || rect.width < 16 || rect.height < 16)
		throw new Error(`no data panel on the page (${JSON.stringify(rect)})`);
	const clip = { x: Math.ceil(rect.x), y: Math.ceil(rect.y),
		width: Math.floor(rect.width), height: Math.floor(rect.height) };
	const png = await page.screenshot({ clip });
	writeFileSync(outPrefix + ".png", png);

	const img = PNG.sync.read(png);
	const gray = Buffer.alloc(img.width * img.height);
	let colour = 0;
	for (let i = 0; i < gray.length; i++) {
		const [r, g, b] = img.data.subarray(4 * i, 4 * i + 3);
		gray[i] = r;
		if (r !== g || g !== b)
			colour++;
	}
	writeFileSync(outPrefix + ".gray", gray);
	const viewerState = await page.evaluate(() => window.viewer.state.toJSON());
	writeFileSync(outPrefix + ".json", JSON.stringify({
		width: img.width, height: img.height, clip, colour_pixels: colour,
		state: viewerState,
	}, null, 1) + "\n");
	for (const l of log)
		if (/error/i.test(l))
			console.error(`view.mjs: ${l}`);
	rc = 0;
} catch (e) {
	console.error(`view.mjs: ${e.message}`);
} finally {
	await browser.close();
}
process.exit(rc);
