/**
 * What every writing node returns: one item per record handled, failures either on n8n's error
 * output ("On Error: Continue (using error output)") or as the run's error, and a `_summary` item
 * last. Campaign Upsert, Email Events Export and Opt-In/Out Sync all build their output here.
 */
import type { IDataObject, INode, INodeExecutionData, IPairedItemData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

export const SUMMARY_KEY = '_summary';

/** Failures listed in an error's description, the rest counted. */
export const LISTED_FAILURES = 20;

type Paired = number | IPairedItemData[];

function pairedItem(item: Paired): IPairedItemData | IPairedItemData[] {
	return typeof item === 'number' ? { item } : item;
}

export interface FailedRunText {
	/** The whole the failures are counted in: records read, events read, pairs checked. */
	total: number;
	/** After "N of M": "record(s) could not be written to Campaign". */
	what: string;
	/** Appended to the message (e.g. "; the others were written. First: …"), if any. */
	tail?: string;
	/** Appended to the description after the listed failures. */
	after?: string;
}

export interface OutputContext {
	getNode(): INode;
	continueOnFail(): boolean;
}

export class NodeOutput {
	private readonly items: INodeExecutionData[] = [];
	private readonly failures: string[] = [];
	private readonly continueOnFail: boolean;

	constructor(private readonly ctx: OutputContext) {
		this.continueOnFail = ctx.continueOnFail();
	}

	/** A record handled (written, unchanged, skipped…). */
	pass(json: IDataObject, item: Paired): void {
		this.items.push({ json, pairedItem: pairedItem(item) });
	}

	/**
	 * A record that failed. With the error output on, n8n routes an item whose json is only
	 * `{ error, details }` there and keeps that json (an item-level `error` would reduce it to the
	 * message alone); otherwise the run fails at the end, naming it (`line`, default the error).
	 */
	fail(error: string, details: IDataObject, item: Paired, line = error): void {
		this.failures.push(line);
		if (this.continueOnFail)
			this.items.push({ json: { error, details }, pairedItem: pairedItem(item) });
	}

	get failed(): number {
		return this.failures.length;
	}

	/**
	 * The node's output: the items, then the summary. With failures and the error output off, the
	 * run's error instead: "N of M …", the first failures listed in its description.
	 */
	finish(summary: IDataObject, summaryPaired: Paired, text: FailedRunText): INodeExecutionData[][] {
		if (this.failures.length && !this.continueOnFail) {
			const listed = this.failures.slice(0, LISTED_FAILURES).map((f) => `- ${f}`);
			const more = this.failures.length - LISTED_FAILURES;
			if (more > 0) listed.push(`- … and ${more} more`);
			throw new NodeOperationError(
				this.ctx.getNode(),
				`${this.failures.length} of ${text.total} ${text.what}${text.tail ?? ''}`,
				{
					description: `${listed.join('\n')}${text.after ? `\n${text.after}` : ''}\nTo route failed records to a separate output instead, set the node's "On Error" setting to "Continue (using error output)".`,
				},
			);
		}
		this.items.push({ json: { [SUMMARY_KEY]: summary }, pairedItem: pairedItem(summaryPaired) });
		return [this.items];
	}
}
