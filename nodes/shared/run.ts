import { RUN_KEY, type RunReport } from '../../lib/flows/run-report';

/** The run report's key and shape live with the flows that make and read it. */
export { RUN_KEY, type RunReport };

export function isRunItem(json: unknown): json is { [RUN_KEY]: RunReport } {
	return json !== null && typeof json === 'object' && RUN_KEY in json;
}
