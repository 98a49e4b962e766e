/**
 * A long-running child process in a process group of its own (n8n main and workers, PostgreSQL,
 * Redis): its output kept as bounded lines, the whole group signalled (so what it spawns goes with
 * it), and killed if this process exits first.
 */
import { spawn, type ChildProcess } from 'child_process';

export interface ProcessGroupOptions {
	cwd: string;
	env?: NodeJS.ProcessEnv;
	/** Prefix of its output lines in `log`, e.g. `n8n` gives `  n8n| …`. */
	name: string;
	/** Receives each output line (prefixed); silent when omitted. */
	log?: (line: string) => void;
	/** Each output line, unprefixed, as it arrives. */
	onLine?: (line: string) => void;
	/** Lines kept in `logs` (the newest). */
	maxLogLines: number;
}

export interface ProcessGroup {
	child: ChildProcess;
	/** Process id, also the id of its group (-1 when it did not start). */
	pid: number;
	/** Its stdout and stderr lines, newest last (bounded). */
	logs: string[];
	exited(): boolean;
	/** Resolves with the exit code (null when a signal ended it). */
	exit: Promise<number | null>;
	/** Sends `signal` to the whole group; nothing when the group is gone. */
	signal(signal: NodeJS.Signals): void;
	/**
	 * Sends `signal`, kills the group after `graceMs` if it has not exited, waits for the exit, and
	 * kills whatever the group still holds (children may outlive the main process for a moment).
	 */
	stop(signal: NodeJS.Signals, graceMs: number): Promise<void>;
	/** SIGKILL, as a crash would, and waits for the exit. */
	kill(): Promise<void>;
}

export function spawnProcessGroup(
	command: string,
	args: string[],
	options: ProcessGroupOptions,
): ProcessGroup {
	const child = spawn(command, args, {
		cwd: options.cwd,
		env: options.env,
		detached: true,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const logs: string[] = [];
	const onOutput = (chunk: Buffer) => {
		for (const line of chunk.toString().split('\n')) {
			if (!line.trim()) continue;
			options.onLine?.(line);
			logs.push(line);
			options.log?.(`  ${options.name}| ${line}`);
		}
		if (logs.length > options.maxLogLines) logs.splice(0, logs.length - options.maxLogLines);
	};
	child.stdout?.on('data', onOutput);
	child.stderr?.on('data', onOutput);
	const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	const exited = () => child.exitCode !== null || child.signalCode !== null;
	const signal = (sig: NodeJS.Signals) => {
		if (child.pid === undefined) return;
		try {
			process.kill(-child.pid, sig);
		} catch {
			// The group is already gone.
		}
	};
	const killOnExit = () => signal('SIGKILL');
	process.once('exit', killOnExit);
	return {
		child,
		pid: child.pid ?? -1,
		logs,
		exited,
		exit,
		signal,
		async stop(sig, graceMs) {
			process.removeListener('exit', killOnExit);
			if (!exited()) {
				signal(sig);
				const timer = setTimeout(() => signal('SIGKILL'), graceMs);
				timer.unref();
				await exit;
				clearTimeout(timer);
			}
			signal('SIGKILL');
		},
		async kill() {
			process.removeListener('exit', killOnExit);
			signal('SIGKILL');
			if (!exited()) await exit;
		},
	};
}
