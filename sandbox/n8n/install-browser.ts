/**
 * Makes sure Debian's chromium is installed for the browser check (playwright-core drives it; no
 * browser is ever downloaded by playwright). When /usr/bin/chromium is missing it runs
 * `apt-get update && apt-get install -y chromium`, which needs root (as in CI).
 *
 * `ts-node --transpile-only sandbox/n8n/install-browser.ts`
 */
import { existsSync } from 'fs';

import { runCommand } from './install-runtime';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Flags that work headless in containers and CI, with no network chatter of the browser's own. */
export const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

export async function installBrowser(
	log: (line: string) => void = (line) => console.log(line),
): Promise<string> {
	if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
	const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
	if (!isRoot) {
		throw new Error(
			`${CHROMIUM_PATH} is missing; install it with \`sudo apt-get install -y chromium\` ` +
				'(or set CHROMIUM_PATH to an installed chromium)',
		);
	}
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	log('[browser] chromium is missing: apt-get update');
	await runCommand('apt-get', ['update'], { cwd: '/', env, log });
	log('[browser] apt-get install -y chromium');
	await runCommand('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
		cwd: '/',
		env,
		log,
	});
	if (!existsSync(CHROMIUM_PATH)) {
		throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`);
	}
	log(`[browser] installed ${CHROMIUM_PATH}`);
	return CHROMIUM_PATH;
}

if (require.main === module) {
	installBrowser().then(
		(file) => console.log(`chromium: ${file}`),
		(error: Error) => {
			console.error(error.message);
			process.exit(1);
		},
	);
}
