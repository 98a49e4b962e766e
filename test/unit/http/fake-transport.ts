import type { HttpRequest, HttpResponse, Transport } from '../../../lib/http';
import { TransportError } from '../../../lib/http';

export type Step = HttpResponse | TransportError | Error;

/** Answers from a script, one step per request, and remembers what it was asked. */
export class ScriptedTransport implements Transport {
	readonly calls: HttpRequest[] = [];
	constructor(readonly steps: Step[]) {}

	async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
		this.calls.push(req);
		const step = this.steps.shift();
		if (!step) throw new Error(`no scripted answer left for request ${this.calls.length}`);
		if (step instanceof Error) throw step;
		return step as HttpResponse<T>;
	}
}

export function reply(
	status: number,
	headers: Record<string, string> = {},
	body: unknown = '',
): HttpResponse {
	return { status, headers, body };
}

/** A clock that only moves when the code under test sleeps. */
export function fakeClock(start = 0) {
	const clock = {
		nowMs: start,
		sleeps: [] as number[],
		now: () => clock.nowMs,
		sleep: async (ms: number) => {
			clock.sleeps.push(ms);
			clock.nowMs += ms;
		},
	};
	return clock;
}
