/**
 * n8n in queue mode: PostgreSQL (workflows, executions, static data, poll cursors), Redis (Bull
 * queue), one main process (UI, API, triggers and pollers) and N workers (`n8n worker`) that run
 * the executions. Every process shares the encryption key, the database and one user folder, so
 * the package installed there as a community package loads in each of them.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

import { spawnProcessGroup } from '../common/process-group';
import { isRuntimeInstalled, runtimeEnv, runtimePaths } from '../n8n/install-runtime';
import {
	N8N_TEST_ENCRYPTION_KEY,
	N8nInstance,
	freePort,
	packPackage,
	startN8n,
} from '../n8n/launcher';
import {
	DB_NAME,
	DB_USER,
	ServiceHandle,
	ensureServicePackages,
	startPostgres,
	startRedis,
} from './services';

/** n8n's durable poll cursors: the trigger's static data commits with the execution it starts. */
export const DURABLE_CURSOR_ENV = {
	N8N_POLLER_DURABLE_CURSORS_ENABLED: 'true',
	N8N_SCHEDULER_ENABLED: 'true',
	N8N_SCHEDULER_POLL_TRIGGERS_ENABLED: 'true',
	N8N_USE_WORKFLOW_PUBLICATION_SERVICE: 'true',
};

export interface QueueClusterOptions {
	/** Number of `n8n worker` processes (default 2). */
	workers?: number;
	/** Executions one worker runs at once (`--concurrency`, default 5). */
	workerConcurrency?: number;
	/** Durable poll cursors on (default true). */
	durableCursors?: boolean;
	/** Package tarball to install; when omitted this repository is built and packed. */
	packageTarball?: string;
	packageDir?: string;
	/** Extra environment for every n8n process. */
	env?: Record<string, string>;
	log?: (line: string) => void;
	runtimeDir?: string;
}

export interface QueueWorker {
	name: string;
	pid: number;
	/** The worker's output lines (bounded). */
	logs: string[];
	/** Execution ids this worker started, read from its log ("Worker started execution …"). */
	startedExecutions(): string[];
	/** Started and not yet finished, by the worker's log. */
	runningExecutions(): string[];
	/** True once the process has exited. */
	exited(): boolean;
	/** SIGKILL, as a crash would: no graceful shutdown, the running jobs are abandoned. */
	kill(): Promise<void>;
	stop(): Promise<void>;
}

export interface QueueCluster {
	main: N8nInstance;
	workers: QueueWorker[];
	postgres: ServiceHandle;
	redis: ServiceHandle;
	/** Adds one more worker (e.g. to replace a crashed one). */
	addWorker(): Promise<QueueWorker>;
	/** Which worker started each execution id. */
	executionOwners(): Map<string, string>;
	stop(): Promise<void>;
}

const STARTED = /Worker started execution (\S+) \(job/;
const FINISHED = /Worker finished execution (\S+) \(job/;

export async function startQueueCluster(options: QueueClusterOptions = {}): Promise<QueueCluster> {
	const log = options.log ?? (() => undefined);
	if (!isRuntimeInstalled(options.runtimeDir)) {
		throw new Error(
			'The n8n runtime is not installed: run `npx ts-node --transpile-only sandbox/n8n/install-runtime.ts` first',
		);
	}
	ensureServicePackages(log);
	const cleanups: Array<() => Promise<void>> = [];
	const stopAll = async () => {
		for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
	};
	try {
		const postgres = await startPostgres(log);
		cleanups.push(() => postgres.stop());
		const redis = await startRedis(log);
		cleanups.push(() => redis.stop());

		const userFolder = mkdtempSync(path.join(os.tmpdir(), 'n8n-queue-'));
		cleanups.push(async () => rmSync(userFolder, { recursive: true, force: true }));
		const tarball = options.packageTarball ?? (await packPackage(options.packageDir, log));
		if (!options.packageTarball) {
			cleanups.push(async () => rmSync(path.dirname(tarball), { recursive: true, force: true }));
		}

		const shared: Record<string, string> = {
			N8N_ENCRYPTION_KEY: N8N_TEST_ENCRYPTION_KEY,
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: redis.host,
			QUEUE_BULL_REDIS_PORT: String(redis.port),
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: postgres.host,
			DB_POSTGRESDB_PORT: String(postgres.port),
			DB_POSTGRESDB_DATABASE: DB_NAME,
			DB_POSTGRESDB_USER: DB_USER,
			DB_POSTGRESDB_PASSWORD: '',
			// Manual runs from the editor go to the workers too: no execution stays on main.
			OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
			// Short lock so a crashed worker's job is noticed quickly (stalled) instead of after 60 s.
			QUEUE_WORKER_LOCK_DURATION: '15000',
			QUEUE_WORKER_LOCK_RENEW_TIME: '5000',
			QUEUE_WORKER_STALLED_INTERVAL: '10000',
			// Main marks executions whose job vanished (crashed worker) as crashed every minute, not 3 h.
			N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL: '1',
			...(options.durableCursors === false ? {} : DURABLE_CURSOR_ENV),
			...options.env,
		};

		const main = await startN8n({
			userFolder,
			packageTarball: tarball,
			env: shared,
			log,
			runtimeDir: options.runtimeDir,
		});
		cleanups.push(() => main.stop());

		const workers: QueueWorker[] = [];
		const owners = new Map<string, string>();
		let counter = 0;
		const addWorker = async () => {
			counter += 1;
			const worker = await startWorker(`worker-${counter}`, {
				userFolder,
				env: shared,
				concurrency: options.workerConcurrency ?? 5,
				runtimeDir: options.runtimeDir,
				log,
				onStarted: (id, name) => owners.set(id, name),
			});
			cleanups.push(() => worker.stop());
			workers.push(worker);
			return worker;
		};
		const count = options.workers ?? 2;
		for (let i = 0; i < count; i++) await addWorker();

		return {
			main,
			workers,
			postgres,
			redis,
			addWorker,
			executionOwners: () => new Map(owners),
			stop: stopAll,
		};
	} catch (error) {
		await stopAll();
		throw error;
	}
}

interface WorkerOptions {
	userFolder: string;
	env: Record<string, string>;
	concurrency: number;
	runtimeDir?: string;
	log: (line: string) => void;
	onStarted: (executionId: string, worker: string) => void;
}

async function startWorker(name: string, options: WorkerOptions): Promise<QueueWorker> {
	const paths = runtimePaths(options.runtimeDir);
	const healthPort = await freePort();
	const env = runtimeEnv(paths, {
		N8N_USER_FOLDER: options.userFolder,
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		GENERIC_TIMEZONE: 'UTC',
		N8N_LOG_LEVEL: 'info',
		EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'all',
		EXECUTIONS_DATA_SAVE_ON_ERROR: 'all',
		QUEUE_HEALTH_CHECK_ACTIVE: 'true',
		QUEUE_HEALTH_CHECK_PORT: String(healthPort),
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		...options.env,
	});
	// Test-process settings must not reach n8n (see launcher.ts).
	delete env.NODE_OPTIONS;
	for (const key of Object.keys(env)) if (key.startsWith('JEST_')) delete env[key];
	env.NODE_ENV = 'production';

	const started: string[] = [];
	const finished = new Set<string>();
	const group = spawnProcessGroup(
		paths.nodeBin,
		[paths.n8nBin, 'worker', `--concurrency=${options.concurrency}`],
		{
			cwd: options.userFolder,
			env,
			name,
			log: options.log,
			maxLogLines: 5000,
			onLine: (line) => {
				const match = STARTED.exec(line);
				if (match) {
					started.push(match[1]);
					options.onStarted(match[1], name);
				}
				const done = FINISHED.exec(line);
				if (done) finished.add(done[1]);
			},
		},
	);
	const { logs, exited: isExited } = group;

	const worker: QueueWorker = {
		name,
		pid: group.pid,
		logs,
		startedExecutions: () => [...started],
		runningExecutions: () => started.filter((id) => !finished.has(id)),
		exited: isExited,
		kill: () => group.kill(),
		stop: () => group.stop('SIGTERM', 20_000),
	};

	// Ready when its health endpoint answers (it connects to Redis and the database first).
	const deadline = Date.now() + 120_000;
	while (Date.now() < deadline) {
		if (isExited()) {
			throw new Error(`n8n ${name} exited before it was ready:\n${logs.slice(-40).join('\n')}`);
		}
		try {
			const response = await fetch(`http://127.0.0.1:${healthPort}/healthz/readiness`);
			await response.text();
			if (response.status === 200) {
				options.log(`[queue] ${name} ready (pid ${worker.pid})`);
				return worker;
			}
		} catch {
			// not listening yet
		}
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
	await worker.stop();
	throw new Error(`n8n ${name} was not ready within 120 s:\n${logs.slice(-40).join('\n')}`);
}
