/**
 * The runtime installer reuses only a complete install of the pinned versions; anything else (an
 * interrupted install, other versions, a missing binary) counts as half-finished and is redone.
 * Each n8n release gets its own folder and the Node it needs, and a second process waits for an
 * install in progress instead of starting its own.
 */
import { spawn } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

import {
	N8N_VERSION,
	TESTED_N8N_VERSIONS,
	defaultRuntimeDir,
	installRuntime,
	isRuntimeInstalled,
	readRuntimeMarker,
	runtimePaths,
	runtimeSpec,
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

	it('checks an n8n 1.x install against Node 22, the Node it runs on', () => {
		fakeInstall({ n8n: '1.123.81', node: 'v22.12.0' });
		expect(isRuntimeInstalled(dir, '1.123.81')).toBe(true);
		expect(isRuntimeInstalled(dir)).toBe(false);
		fakeInstall({ n8n: '1.123.81', node: 'v24.1.0' });
		expect(isRuntimeInstalled(dir, '1.123.81')).toBe(false);
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

describe('Runtime recipes per n8n release', () => {
	it('runs n8n 2.x on Node 24 with both native add-ons built', () => {
		expect(runtimeSpec('2.41.1')).toEqual({
			n8n: '2.41.1',
			nodeMajor: '24',
			nativeAddons: ['sqlite3', 'isolated-vm'],
			overrides: {},
		});
	});

	it('runs n8n 1.x on Node 22 and takes xlsx from the npm registry instead of its CDN', () => {
		expect(runtimeSpec('1.123.81')).toEqual({
			n8n: '1.123.81',
			nodeMajor: '22',
			nativeAddons: ['sqlite3'],
			overrides: { xlsx: '0.18.5' },
		});
	});

	it('refuses releases older than 1.x', () => {
		expect(() => runtimeSpec('0.236.0')).toThrow(/n8n 0\.236\.0/);
	});

	it('has a recipe for every tested release, the pinned one among them', () => {
		expect(TESTED_N8N_VERSIONS).toContain(N8N_VERSION);
		for (const version of TESTED_N8N_VERSIONS) expect(runtimeSpec(version).n8n).toBe(version);
	});

	it('gives each release its own folder in the cache; N8N_RUNTIME_DIR moves only the pinned one', () => {
		const saved = { dir: process.env.N8N_RUNTIME_DIR, cache: process.env.N8N_RUNTIME_CACHE };
		process.env.N8N_RUNTIME_CACHE = '/cache';
		process.env.N8N_RUNTIME_DIR = '/pinned';
		try {
			expect(defaultRuntimeDir()).toBe('/pinned');
			expect(defaultRuntimeDir('1.123.81')).toBe(path.join('/cache', 'n8n-1.123.81'));
			delete process.env.N8N_RUNTIME_DIR;
			expect(defaultRuntimeDir()).toBe(path.join('/cache', `n8n-${N8N_VERSION}`));
		} finally {
			for (const [key, value] of [
				['N8N_RUNTIME_DIR', saved.dir],
				['N8N_RUNTIME_CACHE', saved.cache],
			] as const) {
				if (value === undefined) delete process.env[key];
				else process.env[key] = value;
			}
		}
	});
});

describe('Two processes installing the same release', () => {
	it('waits for the install in progress and reuses it instead of installing again', async () => {
		// Another process (alive) holds the lock; it finishes the install two seconds later.
		const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
		try {
			const lock = `${path.resolve(dir)}.lock`;
			mkdirSync(lock);
			writeFileSync(path.join(lock, 'pid'), String(other.pid));
			const lines: string[] = [];
			const install = installRuntime({ dir, log: (line) => lines.push(line) });
			await new Promise((resolve) => setTimeout(resolve, 2000));
			expect(lines.join('\n')).toMatch(new RegExp(`process ${other.pid} is installing`));
			fakeInstall({});
			rmSync(lock, { recursive: true });
			await install;
			expect(lines.join('\n')).toMatch(/reusing n8n/);
			expect(lines.join('\n')).not.toMatch(/installing from scratch/);
		} finally {
			other.kill();
		}
	}, 30_000);
});
