/**
 * The runtime installer reuses only a complete install of the pinned versions; anything else (an
 * interrupted install, other versions, a missing binary) counts as half-finished and is redone.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

import {
	N8N_VERSION,
	isRuntimeInstalled,
	readRuntimeMarker,
	runtimePaths,
} from '../../sandbox/n8n/install-runtime';

let dir: string;

beforeEach(() => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'runtime-marker-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fakeInstall(options: { n8n?: string; node?: string; marker?: boolean; n8nBin?: boolean }) {
	const paths = runtimePaths(dir);
	mkdirSync(path.dirname(paths.nodeBin), { recursive: true });
	writeFileSync(paths.nodeBin, '');
	if (options.n8nBin !== false) {
		mkdirSync(path.dirname(paths.n8nBin), { recursive: true });
		writeFileSync(paths.n8nBin, '');
	}
	if (options.marker !== false) {
		writeFileSync(
			path.join(dir, 'runtime.json'),
			JSON.stringify({
				n8n: options.n8n ?? N8N_VERSION,
				node: options.node ?? 'v24.1.0',
				installedAt: new Date().toISOString(),
			}),
		);
	}
}

describe('Runtime install detection', () => {
	it('reuses a complete install of the pinned n8n on Node 24', () => {
		fakeInstall({});
		expect(isRuntimeInstalled(dir)).toBe(true);
		expect(readRuntimeMarker(dir)?.n8n).toBe(N8N_VERSION);
	});

	it('treats an install without its completion marker as half-finished', () => {
		fakeInstall({ marker: false });
		expect(isRuntimeInstalled(dir)).toBe(false);
	});

	it('redoes an install of another n8n version or another Node major', () => {
		fakeInstall({ n8n: '2.39.0' });
		expect(isRuntimeInstalled(dir)).toBe(false);
		fakeInstall({ node: 'v22.3.0' });
		expect(isRuntimeInstalled(dir)).toBe(false);
	});

	it('redoes an install whose n8n files are gone', () => {
		fakeInstall({ n8nBin: false });
		expect(isRuntimeInstalled(dir)).toBe(false);
	});

	it('keeps the runtime in the folder given by N8N_RUNTIME_DIR', () => {
		const previous = process.env.N8N_RUNTIME_DIR;
		process.env.N8N_RUNTIME_DIR = dir;
		try {
			expect(runtimePaths().root).toBe(path.resolve(dir));
		} finally {
			if (previous === undefined) delete process.env.N8N_RUNTIME_DIR;
			else process.env.N8N_RUNTIME_DIR = previous;
		}
	});
});
