/**
 * Helpers shared by the reliability tests: templates run in-process, the admin's recovery
 * (retrying failed executions with the same input), fast retry waits, and a secret scanner.
 */
import fs from 'node:fs';
import path from 'node:path';

import type { INodeExecutionData } from 'n8n-workflow';

import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../lib/http/retry';
import { SANDBOX_DEFAULTS } from '../../sandbox/defaults';
import type { ExecutionResult, TestWorkflow, WorkflowJson } from '../../sandbox/harness/engine';

export function loadTemplate(name: string): WorkflowJson {
	const file = path.join(__dirname, '../../templates', `${name}.json`);
	return JSON.parse(fs.readFileSync(file, 'utf8')) as WorkflowJson;
}

/**
 * Shortens the production retry waits for the duration of a test file. The policy object is read
 * whenever a node builds its clients, so the nodes keep their real retry logic (which statuses,
 * how many attempts, Retry-After first) and only the backoff gets smaller.
 */
export function useFastRetries(overrides: Partial<RetryPolicy> = {}): () => void {
	const saved = { ...DEFAULT_RETRY_POLICY };
	Object.assign(DEFAULT_RETRY_POLICY, { baseDelayMs: 5, maxDelayMs: 40, ...overrides });
	return () => Object.assign(DEFAULT_RETRY_POLICY, saved);
}

/** Records that did not make it in one execution: the error output, or the whole execution. */
export function failuresOf(result: ExecutionResult, nodeName: string): number {
	if (result.error) return 1;
	return result.output(nodeName, 1).length;
}

export interface SyncStats {
	executions: number;
	retriedExecutions: number;
	failedPolls: number;
	failedRecords: number;
}

/**
 * Polls a trigger until it has nothing new, as n8n's poller does. A poll that throws is simply
 * polled again (n8n logs it and tries at the next tick; the cursor did not move). An execution
 * with failures is retried by the admin with the same trigger items until it has none.
 */
export async function syncUntilQuiet(
	wf: TestWorkflow,
	trigger: string,
	lastNode: string,
	{ maxPolls = 60, maxRetries = 8 } = {},
): Promise<SyncStats> {
	const stats: SyncStats = {
		executions: 0,
		retriedExecutions: 0,
		failedPolls: 0,
		failedRecords: 0,
	};
	for (let polls = 0; polls < maxPolls; polls++) {
		let items: INodeExecutionData[][] | null;
		try {
			items = await wf.poll(trigger);
		} catch {
			stats.failedPolls += 1;
			continue;
		}
		if (!items) return stats;
		let result = await wf.run(trigger, items);
		stats.executions += 1;
		for (let retry = 0; failuresOf(result, lastNode) > 0; retry++) {
			if (retry >= maxRetries) {
				throw new Error(
					`${lastNode} still failed after ${maxRetries} retries: ${
						result.error?.message ?? JSON.stringify(result.output(lastNode, 1).slice(0, 3))
					}`,
				);
			}
			stats.failedRecords += failuresOf(result, lastNode);
			stats.retriedExecutions += 1;
			result = await wf.run(trigger, items);
		}
	}
	throw new Error(`${trigger} still had changes after ${maxPolls} polls`);
}

/** Every secret value the sandbox credentials hold. */
export const SECRETS: string[] = [
	SANDBOX_DEFAULTS.dataverse.clientSecret,
	SANDBOX_DEFAULTS.campaign.clientSecret,
];

/** The secrets (and any extra values such as issued tokens) found in `haystack`. */
export function leakedSecrets(haystack: unknown, extra: string[] = []): string[] {
	const text = typeof haystack === 'string' ? haystack : safeStringify(haystack);
	return [...SECRETS, ...extra].filter((s) => s.length >= 8 && text.includes(s));
}

/** JSON with errors' message, description, stack and cause spelled out, cycles cut. */
export function safeStringify(value: unknown): string {
	const seen = new WeakSet<object>();
	return JSON.stringify(value, (_key, v: unknown) => {
		if (v instanceof Error) {
			const e = v as Error & { description?: unknown; cause?: unknown; context?: unknown };
			return {
				...Object.fromEntries(Object.entries(e)),
				name: e.name,
				message: e.message,
				stack: e.stack,
				description: e.description,
				cause: e.cause,
			};
		}
		if (v && typeof v === 'object') {
			if (seen.has(v)) return '[cycle]';
			seen.add(v);
		}
		return v;
	});
}
