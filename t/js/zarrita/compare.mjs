// compare.mjs - read an OME-Zarr store with zarrita (a reader we did not write) and compare it,
// voxel for voxel, with another store of the same image (our Zarr v2 store, read by zarrita too).
//
//	node compare.mjs V3STORE V2STORE
//
// Every level the multiscales list (the same paths in both) is read whole and compared.
// Prints one line "ok ngff VERSION levels N shape SHAPE DTYPE chunks CHUNKS" and exits 0 when
// every level is byte-equal; prints what differs and exits 1 when not; exits 2 when a store
// cannot be read.
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";

// The group's first image: NGFF 0.5 keeps it under "ome", 0.4 at the top.
// open.v3 / open.v2: zarrita reads it as that format or fails.
async function image(path, open) {
	const root = zarr.root(new FileSystemStore(path));
	const grp = await open(root, { kind: "group" });
	const ms = (grp.attrs.ome ?? grp.attrs).multiscales;
	const levels = ms[0].datasets.map((d) => d.path);
	return { root, grp, ms, levels, open };
}

async function level(img, path) {
	const arr = await img.open(img.root.resolve(path), { kind: "array" });
	return { arr, data: await zarr.get(arr) };
}

function bytes(t) {
	return new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
}

const [a, b] = process.argv.slice(2);
if (a === undefined || b === undefined) {
	console.error("usage: node compare.mjs V3STORE V2STORE");
	process.exit(2);
}
let x, y;
try {
	x = await image(a, zarr.open.v3);
	y = await image(b, zarr.open.v2);
} catch (e) {
	console.error(`zarrita: ${e.message}`);
	process.exit(2);
}
const fail = (what) => {
	console.log(`not ok ${what}`);
	process.exit(1);
};
if (x.levels.join() !== y.levels.join())
	fail(`levels ${x.levels} vs ${y.levels}`);
let first;
for (const path of x.levels) {
	let u, v;
	try {
		u = await level(x, path);
		v = await level(y, path);
	} catch (e) {
		console.error(`zarrita: level ${path}: ${e.message}`);
		process.exit(2);
	}
	first ??= u.arr;
	if (u.arr.shape.join() !== v.arr.shape.join())
		fail(`level ${path}: shape ${u.arr.shape} vs ${v.arr.shape}`);
	if (u.arr.dtype !== v.arr.dtype)
		fail(`level ${path}: dtype ${u.arr.dtype} vs ${v.arr.dtype}`);
	const p = bytes(u.data.data), q = bytes(v.data.data);
	if (p.length !== q.length)
		fail(`level ${path}: ${p.length} bytes vs ${q.length}`);
	for (let i = 0; i < p.length; i++)
		if (p[i] !== q[i])
			fail(`level ${path}: byte ${i}: ${p[i]} vs ${q[i]}`);
}
// What zarrita saw of the v3 store: its NGFF version, levels, and level 0's shape, type and
// (inner) chunks.
const version = x.grp.attrs.ome?.version ?? x.ms[0].version;
console.log(`ok ngff ${version} levels ${x.levels.length} shape ${first.shape} ${first.dtype} ` +
    `chunks ${first.chunks}`);
