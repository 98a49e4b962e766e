/**
 * PostgreSQL and Redis for n8n queue mode, from Debian's packages: installed with apt-get when
 * missing, started on loopback and free ports with their data in a temporary folder, and stopped
 * (data removed) by the returned handles.
 */
import { execFileSync } from 'child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'fs';
import { Socket } from 'net';
import * as os from 'os';
import * as path from 'path';

import { spawnProcessGroup } from '../common/process-group';
import { freePort } from '../n8n/launcher';

export const POSTGRES_BIN = process.env.POSTGRES_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
export const DB_USER = 'n8n';
export const DB_NAME = 'n8n';

export interface ServiceHandle {
	host: string;
	port: number;
	pid: number;
	/** Last lines the service printed, for error messages. */
	logs: string[];
	stop(): Promise<void>;
}

type Log = (line: string) => void;

/** Installs postgresql and redis-server with apt-get unless both are there (needs root). */
export function ensureServicePackages(log: Log = () => undefined): void {
	const missing: string[] = [];
	if (!existsSync(path.join(POSTGRES_BIN, 'postgres'))) missing.push('postgresql');
	if (!commandExists('redis-server')) missing.push('redis-server');
	if (!missing.length) return;
	if (process.getuid?.() !== 0) {
		throw new Error(
			`queue mode needs ${missing.join(' and ')}: install them (apt-get install -y ${missing.join(' ')}) or run as root`,
		);
	}
	log(`[queue] installing ${missing.join(', ')} with apt-get`);
	execFileSync('apt-get', ['update'], { stdio: 'ignore' });
	execFileSync('apt-get', ['install', '-y', ...missing], {
		stdio: 'ignore',
		env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
	});
}

function commandExists(name: string): boolean {
	try {
		execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

/** initdb refuses root: as root, the cluster belongs to the `postgres` system user. */
function asDbOwner(command: string, args: string[]): [string, string[]] {
	return process.getuid?.() === 0
		? ['runuser', ['-u', 'postgres', '--', command, ...args]]
		: [command, args];
}

function ownerIds(): { uid: number; gid: number } | undefined {
	if (process.getuid?.() !== 0) return undefined;
	const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
	const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
	return { uid, gid };
}

export async function startPostgres(log: Log = () => undefined): Promise<ServiceHandle> {
	const folder = mkdtempSync(path.join(os.tmpdir(), 'n8n-queue-pg-'));
	const dataDir = path.join(folder, 'data');
	const ids = ownerIds();
	if (ids) chownSync(folder, ids.uid, ids.gid);
	const [initCmd, initArgs] = asDbOwner(path.join(POSTGRES_BIN, 'initdb'), [
		'-D',
		dataDir,
		'-U',
		DB_USER,
		'--auth=trust',
		'--encoding=UTF8',
		'--no-sync',
	]);
	execFileSync(initCmd, initArgs, { stdio: 'ignore', cwd: folder });
	const port = await freePort();
	// Throwaway test data: durability settings off for speed; loopback only.
	const [cmd, args] = asDbOwner(path.join(POSTGRES_BIN, 'postgres'), [
		'-D',
		dataDir,
		'-h',
		'127.0.0.1',
		'-p',
		String(port),
		'-k',
		folder,
		'-c',
		'fsync=off',
		'-c',
		'synchronous_commit=off',
		'-c',
		'full_page_writes=off',
		'-c',
		'max_connections=200',
	]);
	const handle = spawnService('postgres', cmd, args, folder, port, log);
	try {
		await waitFor(
			() => isPostgresReady(port),
			30_000,
			() => `PostgreSQL did not start on port ${port}:\n${handle.logs.join('\n')}`,
		);
		execFileSync(
			path.join(POSTGRES_BIN, 'createdb'),
			['-h', '127.0.0.1', '-p', String(port), '-U', DB_USER, DB_NAME],
			{ stdio: 'ignore' },
		);
	} catch (error) {
		await handle.stop();
		throw error;
	}
	log(`[queue] PostgreSQL ready on 127.0.0.1:${port}`);
	return handle;
}

function isPostgresReady(port: number): boolean {
	try {
		execFileSync(path.join(POSTGRES_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], {
			stdio: 'ignore',
		});
		return true;
	} catch {
		return false;
	}
}

export async function startRedis(log: Log = () => undefined): Promise<ServiceHandle> {
	const folder = mkdtempSync(path.join(os.tmpdir(), 'n8n-queue-redis-'));
	const port = await freePort();
	const args = [
		'--port',
		String(port),
		'--bind',
		'127.0.0.1',
		'--dir',
		folder,
		'--save',
		'',
		'--appendonly',
		'no',
	];
	const handle = spawnService('redis', 'redis-server', args, folder, port, log);
	try {
		await waitFor(
			() => redisPing(port),
			15_000,
			() => `Redis did not start on port ${port}:\n${handle.logs.join('\n')}`,
		);
	} catch (error) {
		await handle.stop();
		throw error;
	}
	log(`[queue] Redis ready on 127.0.0.1:${port}`);
	return handle;
}

function redisPing(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = new Socket();
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(1000, () => done(false));
		socket.once('error', () => done(false));
		socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
		socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
	});
}

function spawnService(
	name: string,
	command: string,
	args: string[],
	folder: string,
	port: number,
	log: Log,
): ServiceHandle {
	const service = spawnProcessGroup(command, args, { cwd: folder, name, log, maxLogLines: 200 });
	let stopped = false;
	return {
		host: '127.0.0.1',
		port,
		pid: service.pid,
		logs: service.logs,
		async stop() {
			if (stopped) return;
			stopped = true;
			// SIGINT is PostgreSQL's "fast shutdown"; Redis exits on it too.
			await service.stop('SIGINT', 10_000);
			rmSync(folder, { recursive: true, force: true });
		},
	};
}

async function waitFor(
	check: () => boolean | Promise<boolean>,
	timeoutMs: number,
	message: () => string,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return;
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
	throw new Error(message());
}
