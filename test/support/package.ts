/**
 * The package as npm publishes it and as n8n verifies it. A clean checkout is copied from the files
 * git would hand a fresh clone (tracked files and new files that are not ignored, as they are now)
 * plus the installed dependencies, and packed with a plain `npm pack`, as a maintainer or the
 * publish workflow does: its prepack must build everything. n8n's scanner then checks the source
 * and the packed files.
 */
import { execFile, execFileSync } from 'child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The environment of a maintainer's shell: no settings of the npm process running the tests. */
export function plainEnv(): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (!/^npm_/i.test(key) && !key.startsWith('JEST_')) env[key] = value;
	}
	delete env.NODE_ENV;
	return env;
}

/** Files of `sourceDir` a fresh clone would hold: tracked ones and new ones git does not ignore. */
export function checkoutFiles(sourceDir = REPO_ROOT): string[] {
	const listed = execFileSync(
		'git',
		['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
		{ cwd: sourceDir, maxBuffer: 64 * 1024 * 1024 },
	)
		.toString()
		.split('\0')
		.filter(Boolean);
	// A tracked file deleted in the work tree is not part of the checkout any more.
	const deleted = new Set(
		execFileSync('git', ['ls-files', '-z', '--deleted'], { cwd: sourceDir })
			.toString()
			.split('\0')
			.filter(Boolean),
	);
	return listed.filter((file) => !deleted.has(file));
}

export interface CleanCheckout {
	dir: string;
	remove(): void;
}

/**
 * A copy of the checkout in a temporary folder, with the dependencies `npm ci` installed in
 * `sourceDir` linked in (installing them again would only cost time): no dist/, no tarball, no
 * other build output.
 */
export function cleanCheckout(sourceDir = REPO_ROOT): CleanCheckout {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'clean-checkout-'));
	for (const file of checkoutFiles(sourceDir)) {
		mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
		cpSync(path.join(sourceDir, file), path.join(dir, file));
	}
	symlinkSync(path.join(sourceDir, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
	return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface PackedPackage {
	/** The `.tgz` npm wrote. */
	tarball: string;
	/** Paths inside the tarball, relative to its `package/` folder, sorted. */
	files: string[];
	/** What `npm pack` printed (its lifecycle scripts included). */
	output: string;
	remove(): void;
}

/** Runs a plain `npm pack` in a clean checkout of `sourceDir`, as a maintainer would. */
export async function packCleanCheckout(sourceDir = REPO_ROOT): Promise<PackedPackage> {
	const checkout = cleanCheckout(sourceDir);
	const destination = mkdtempSync(path.join(os.tmpdir(), 'packed-'));
	try {
		const { stdout, stderr } = await run('npm', ['pack', '--pack-destination', destination], {
			cwd: checkout.dir,
			env: plainEnv(),
			maxBuffer: 64 * 1024 * 1024,
		});
		const [name] = readdirSync(destination).filter((file) => file.endsWith('.tgz'));
		if (!name) throw new Error(`npm pack wrote no tarball:\n${stdout}\n${stderr}`);
		const tarball = path.join(destination, name);
		const { stdout: listing } = await run('tar', ['-tzf', tarball]);
		const files = listing
			.split('\n')
			.filter((line) => line && !line.endsWith('/'))
			.map((line) => line.replace(/^package\//, ''))
			.sort();
		return {
			tarball,
			files,
			output: `${stdout}\n${stderr}`,
			remove: () => rmSync(destination, { recursive: true, force: true }),
		};
	} catch (error) {
		rmSync(destination, { recursive: true, force: true });
		throw error;
	} finally {
		checkout.remove();
	}
}

/** Unpacks a tarball into a temporary folder; returns the package's root (`package/`). */
export async function unpack(tarball: string): Promise<{ dir: string; remove(): void }> {
	const root = mkdtempSync(path.join(os.tmpdir(), 'unpacked-'));
	await run('tar', ['-xzf', tarball, '-C', root]);
	return {
		dir: path.join(root, 'package'),
		remove: () => rmSync(root, { recursive: true, force: true }),
	};
}

export interface ScanResult {
	passed: boolean;
	/** Why it failed; also set ("No files found to analyze") when nothing was checked. */
	message?: string;
	/** ESLint's report of the violations. */
	details?: string;
	patterns: string[];
}

/**
 * n8n's scanner checks on a folder: `source` lints the node and credential sources and
 * package.json, as the scanner does on the checkout its npm provenance points at; `tarball` lints
 * the packed JavaScript and package.json, as it does on the published tarball.
 */
export async function scanPackage(dir: string, scope: 'source' | 'tarball'): Promise<ScanResult> {
	// The scanner makes a temporary folder when loaded and leaves it: keep it inside ours.
	const tmp = mkdtempSync(path.join(os.tmpdir(), 'scan-'));
	try {
		const { stdout } = await run(
			process.execPath,
			[path.join(__dirname, 'scan-package.mjs'), dir, scope],
			{ cwd: REPO_ROOT, env: { ...plainEnv(), TMPDIR: tmp }, maxBuffer: 64 * 1024 * 1024 },
		);
		return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ScanResult;
	} finally {
		rmSync(tmp, { recursive: true, force: true });
	}
}
