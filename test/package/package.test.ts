/**
 * The package n8n verifies: a clean checkout packs a complete package with a plain `npm pack`
 * (what `npm publish` and the publish workflow do), and n8n's scanner passes on the source and on
 * the packed files. Installing that tarball into a real n8n is test/e2e/package.test.ts.
 */
import {
	cpSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from 'fs';
import * as os from 'os';
import * as path from 'path';

import { TEMPLATE_FILES } from '../../sandbox/n8n/templates';
import {
	PackedPackage,
	REPO_ROOT,
	checkoutFiles,
	packCleanCheckout,
	scanPackage,
	unpack,
} from '../support/package';

const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
	n8n: { nodes: string[]; credentials: string[] };
};

let packed: PackedPackage | undefined;
let unpacked: { dir: string; remove(): void } | undefined;

beforeAll(async () => {
	packed = await packCleanCheckout();
	unpacked = await unpack(packed.tarball);
}, 180_000);

afterAll(() => {
	unpacked?.remove();
	packed?.remove();
});

function tarball(): PackedPackage {
	if (!packed) throw new Error('npm pack failed (see the beforeAll error)');
	return packed;
}

function packageDir(): string {
	if (!unpacked) throw new Error('the tarball was not unpacked (see the beforeAll error)');
	return unpacked.dir;
}

describe('npm pack in a clean checkout', () => {
	it('starts from a checkout without build output', () => {
		const files = checkoutFiles();
		expect(files).toContain('package.json');
		expect(files.some((file) => file.startsWith('dist/'))).toBe(false);
	});

	it('builds the package and ships every node and credential the manifest declares', () => {
		const { files } = tarball();
		for (const file of [...manifest.n8n.nodes, ...manifest.n8n.credentials]) {
			expect(files).toContain(file);
		}
		// Each node's codex file sits beside it (categories and documentation links in n8n's panel).
		for (const node of manifest.n8n.nodes) {
			expect(files).toContain(node.replace(/\.node\.js$/, '.node.json'));
		}
		expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
	});

	it('ships every icon the nodes and credentials point at', () => {
		const { files } = tarball();
		const built = [...manifest.n8n.nodes, ...manifest.n8n.credentials];
		let icons = 0;
		for (const file of built) {
			const code = readFileSync(path.join(packageDir(), file), 'utf8');
			for (const [, icon] of code.matchAll(/['"`]file:([^'"`]+)['"`]/g)) {
				const shipped = path.posix.normalize(path.posix.join(path.posix.dirname(file), icon));
				expect(files).toContain(shipped);
				icons++;
			}
		}
		expect(icons).toBeGreaterThanOrEqual(built.length);
	});

	it('ships the three workflow templates, byte for byte', () => {
		for (const file of Object.values(TEMPLATE_FILES)) {
			const shipped = path.join(packageDir(), 'templates', file);
			expect(existsSync(shipped)).toBe(true);
			expect(readFileSync(shipped, 'utf8')).toBe(
				readFileSync(path.join(REPO_ROOT, 'templates', file), 'utf8'),
			);
		}
	});

	it('ships nothing of the sources, sandbox, tests or benchmarks', () => {
		const outside = tarball().files.filter(
			(file) =>
				!file.startsWith('dist/') &&
				!file.startsWith('templates/') &&
				!['package.json', 'README.md', 'LICENSE'].includes(file),
		);
		expect(outside).toEqual([]);
		expect(tarball().files.filter((file) => /\.ts$/.test(file) && !/\.d\.ts$/.test(file))).toEqual(
			[],
		);
	});
});

describe("n8n's scanner (@n8n/scan-community-package)", () => {
	it('passes on the node and credential sources and package.json', async () => {
		const result = await scanPackage(REPO_ROOT, 'source');
		expect(result.details ?? '').toBe('');
		// "No files found to analyze" also passes: a message means nothing was checked.
		expect(result.message).toBeUndefined();
		expect(result.passed).toBe(true);
	}, 60_000);

	it('passes on the packed JavaScript and package.json', async () => {
		const result = await scanPackage(packageDir(), 'tarball');
		expect(result.details ?? '').toBe('');
		expect(result.message).toBeUndefined();
		expect(result.passed).toBe(true);
	}, 60_000);

	it('does not accept an inline eslint disable: a node without usableAsTool fails', async () => {
		const dir = mkdtempSync(path.join(os.tmpdir(), 'scan-control-'));
		try {
			cpSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
			const node = 'nodes/RecordFilter/RecordFilter.node.ts';
			const source = readFileSync(path.join(REPO_ROOT, node), 'utf8');
			const withoutTool = source
				.replace(/^\t\tusableAsTool: true,\n/m, '')
				.replace(
					/^export class /m,
					'// eslint-disable-next-line @n8n/community-nodes/node-usable-as-tool\nexport class ',
				);
			expect(withoutTool).not.toBe(source);
			mkdirSync(path.dirname(path.join(dir, node)), { recursive: true });
			writeFileSync(path.join(dir, node), withoutTool);

			const result = await scanPackage(dir, 'source');
			expect(result.passed).toBe(false);
			expect(result.details).toContain('@n8n/community-nodes/node-usable-as-tool');
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	}, 60_000);
});

describe('The publish workflow (.github/workflows/publish.yml)', () => {
	const workflow = readFileSync(
		path.join(REPO_ROOT, '.github', 'workflows', 'publish.yml'),
		'utf8',
	);

	it('publishes from GitHub Actions on a version tag, with npm provenance, after the scanner checks', () => {
		expect(workflow).toMatch(/^on:\n {2}push:\n {4}tags: \['v\*\.\*\.\*'\]$/m);
		expect(workflow).toMatch(/^ {6}id-token: write$/m);
		expect(workflow).toMatch(/^ {8}run: npm publish --provenance$/m);
		const checks = workflow.indexOf('npx jest test/package');
		expect(checks).toBeGreaterThan(0);
		expect(checks).toBeLessThan(workflow.indexOf('npm publish'));
		// npm ci, not a build step: prepack builds what npm publish packs, as in a clean checkout.
		expect(workflow).toMatch(/^ {6}- run: npm ci$/m);
	});
});
