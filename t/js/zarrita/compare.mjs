// compare.mjs - read an OME-Zarr store with zarrita (a reader we did not write) and compare it,
// voxel for voxel, with another store of the same image (our Zarr v2 store, read by zarrita too).
//
//	node compare.mjs V3STORE V2STORE
//
// Prints one line "ok FORMAT SHAPE DTYPE CHUNKS SHARD" and exits 0 when the arrays are
// byte-equal; prints what differs and exits 1 when not; exits 2 when a store cannot be read.
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";

// The group's first image: NGFF 0.5 keeps it under "ome", 0.4 at the top.
// open.v3 / open.v2: zarrita reads it as that format or fails.
async function image(path, open) {
	const root = zarr.root(new FileSystemStore(path));
	const grp = await open(root, { kind: "group" });
	const ms = (grp.attrs.ome ?? grp.attrs).multiscales;
	const arr = await open(root.resolve(ms[0].datasets[0].path), { kind: "array" });
	return { grp, ms, arr, data: await zarr.get(arr) };
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
if (x.arr.shape.join() !== y.arr.shape.join())
	fail(`shape ${x.arr.shape} vs ${y.arr.shape}`);
if (x.arr.dtype !== y.arr.dtype)
	fail(`dtype ${x.arr.dtype} vs ${y.arr.dtype}`);
const p = bytes(x.data.data), q = bytes(y.data.data);
if (p.length !== q.length)
	fail(`${p.length} bytes vs ${q.length}`);
for (let i = 0; i < p.length; i++)
	if (p[i] !== q[i])
		fail(`byte ${i}: ${p[i]} vs ${q[i]}`);
// What zarrita saw of the v3 store: its NGFF version, shape, type and (inner) chunks.
const version = x.grp.attrs.ome?.version ?? x.ms[0].version;
console.log(`ok ngff ${version} shape ${x.arr.shape} ${x.arr.dtype} chunks ${x.arr.chunks}`);
