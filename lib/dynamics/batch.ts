/**
 * Dataverse `$batch`: builds the multipart/mixed request and parses the multipart response into
 * one result per operation, in the order the operations were given.
 */
import type { HttpMethod } from '../http/types';
import { readDataverseError, type DataverseErrorBody } from './errors';

export interface BatchOperation {
	method: HttpMethod;
	/** A path (`/api/data/v9.2/contacts`), an absolute URL, or a `$<Content-ID>` reference. */
	url: string;
	headers?: Record<string, string>;
	/** A plain object is sent as JSON. */
	body?: unknown;
}

/** Operations in a changeset succeed or fail together. */
export interface BatchChangeset {
	changeset: BatchOperation[];
}

export type BatchItem = BatchOperation | BatchChangeset;

export type BatchOutcome =
	/** The operation ran and succeeded. */
	| 'succeeded'
	/** The operation ran and failed (see `error`). */
	| 'failed'
	/** Another operation of its changeset failed, so this one was rolled back. */
	| 'rolledBack'
	/** Dataverse stopped before reaching it (a failure without continue-on-error). */
	| 'notExecuted';

export interface BatchOperationResult {
	/** Position in the flattened list of operations (changeset operations in order). */
	index: number;
	/** Index of the changeset in the batch items, when the operation is part of one. */
	changesetIndex?: number;
	contentId?: string;
	outcome: BatchOutcome;
	/** HTTP status of the operation's response (0 when there was none). */
	status: number;
	headers: Record<string, string>;
	body: unknown;
	error?: DataverseErrorBody;
}

export interface BuiltBatch {
	contentType: string;
	body: string;
	/** Content-ID assigned to each flattened operation (only changeset operations have one). */
	contentIds: Array<string | undefined>;
}

export interface ParsedResponsePart {
	status: number;
	headers: Record<string, string>;
	body: unknown;
	contentId?: string;
}

/** A parsed batch response: each top-level part is a response, or a changeset of responses. */
export type ParsedBatchPart = ParsedResponsePart | { changeset: ParsedResponsePart[] };

const CRLF = '\r\n';

function isChangeset(item: BatchItem): item is BatchChangeset {
	return Array.isArray((item as BatchChangeset).changeset);
}

function randomId(): string {
	let id = '';
	for (let i = 0; i < 4; i++)
		id += Math.floor(Math.random() * 0x10000)
			.toString(16)
			.padStart(4, '0');
	return id;
}

function operationLines(op: BatchOperation, contentId?: string): string[] {
	const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
	if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
	lines.push('', `${op.method} ${op.url} HTTP/1.1`);
	const headers: Record<string, string> = { ...(op.headers ?? {}) };
	let payload: string | undefined;
	if (op.body !== undefined) {
		payload = typeof op.body === 'string' ? op.body : JSON.stringify(op.body);
		if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
			headers['Content-Type'] = 'application/json; type=entry';
		}
	}
	for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
	lines.push('');
	if (payload !== undefined) lines.push(payload);
	return lines;
}

/**
 * Builds a `$batch` body. Changeset operations get Content-IDs 1, 2, … across the batch, so a later
 * operation in the same changeset can reference an earlier one as `$1`.
 */
export function buildBatch(items: BatchItem[], boundaryId = randomId()): BuiltBatch {
	if (items.length === 0) throw new Error('A batch needs at least one operation');
	const batchBoundary = `batch_${boundaryId}`;
	const lines: string[] = [];
	const contentIds: Array<string | undefined> = [];
	let nextContentId = 1;
	items.forEach((item, itemIndex) => {
		lines.push(`--${batchBoundary}`);
		if (isChangeset(item)) {
			if (item.changeset.length === 0) throw new Error(`Changeset ${itemIndex} is empty`);
			const changesetBoundary = `changeset_${boundaryId}_${itemIndex}`;
			lines.push(`Content-Type: multipart/mixed; boundary=${changesetBoundary}`, '');
			for (const op of item.changeset) {
				if (op.method === 'GET') throw new Error('GET is not allowed inside a changeset');
				const contentId = String(nextContentId++);
				contentIds.push(contentId);
				lines.push(`--${changesetBoundary}`, ...operationLines(op, contentId));
			}
			lines.push(`--${changesetBoundary}--`);
		} else {
			contentIds.push(undefined);
			lines.push(...operationLines(item));
		}
	});
	lines.push(`--${batchBoundary}--`, '');
	return {
		contentType: `multipart/mixed; boundary=${batchBoundary}`,
		body: lines.join(CRLF),
		contentIds,
	};
}

/** The `boundary` parameter of a multipart Content-Type. */
export function boundaryOf(contentType: string): string | undefined {
	const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
	return match ? (match[1] ?? match[2]) : undefined;
}

/** Splits `headers CRLF CRLF body` (LF alone accepted too). */
function splitHead(text: string): { head: string; rest: string } {
	const match = /\r?\n\r?\n/.exec(text);
	if (!match) return { head: text, rest: '' };
	return { head: text.slice(0, match.index), rest: text.slice(match.index + match[0].length) };
}

function parseHeaders(head: string): Record<string, string> {
	const headers: Record<string, string> = {};
	for (const line of head.split(/\r?\n/)) {
		const colon = line.indexOf(':');
		if (colon <= 0) continue;
		headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
	}
	return headers;
}

function splitMultipart(body: string, boundary: string): string[] {
	const delimiter = `--${boundary}`;
	const parts: string[] = [];
	const segments = body.split(delimiter);
	// segments[0] is the preamble; a segment starting with '--' is the closing delimiter.
	for (const segment of segments.slice(1)) {
		if (segment.startsWith('--')) break;
		parts.push(segment.replace(/^[ \t]*\r?\n/, '').replace(/\r?\n$/, ''));
	}
	return parts;
}

function parseBody(text: string, contentType: string | undefined): unknown {
	const trimmed = text.trim();
	if (!trimmed) return '';
	if (!contentType || contentType.includes('json') || /^[{[]/.test(trimmed)) {
		try {
			return JSON.parse(trimmed);
		} catch {
			return trimmed;
		}
	}
	return trimmed;
}

function parseHttpPart(part: string): ParsedResponsePart {
	const { head: mimeHead, rest } = splitHead(part);
	const mimeHeaders = parseHeaders(mimeHead);
	const { head: httpHead, rest: payload } = splitHead(rest);
	const [statusLine, ...headerLines] = httpHead.split(/\r?\n/);
	const statusMatch = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(statusLine.trim());
	if (!statusMatch) throw new Error(`Unreadable $batch response part: ${statusLine.slice(0, 80)}`);
	const headers = parseHeaders(headerLines.join('\n'));
	const result: ParsedResponsePart = {
		status: Number(statusMatch[1]),
		headers,
		body: parseBody(payload, headers['content-type']),
	};
	const contentId = mimeHeaders['content-id'] ?? headers['content-id'];
	if (contentId !== undefined) result.contentId = contentId;
	return result;
}

/** Parses a multipart/mixed `$batch` response into its top-level parts. */
export function parseBatchResponse(contentType: string, body: string): ParsedBatchPart[] {
	const boundary = boundaryOf(contentType);
	if (!boundary) throw new Error(`The $batch response is not multipart: ${contentType}`);
	return splitMultipart(body, boundary).map((part) => {
		const { head } = splitHead(part);
		const partType = parseHeaders(head)['content-type'] ?? '';
		if (partType.toLowerCase().startsWith('multipart/mixed')) {
			const inner = boundaryOf(partType);
			if (!inner) throw new Error('A changeset response has no boundary');
			return { changeset: splitMultipart(splitHead(part).rest, inner).map(parseHttpPart) };
		}
		return parseHttpPart(part);
	});
}

function resultOf(
	part: ParsedResponsePart,
	index: number,
	contentId: string | undefined,
	changesetIndex: number | undefined,
): BatchOperationResult {
	const ok = part.status >= 200 && part.status < 300;
	const result: BatchOperationResult = {
		index,
		outcome: ok ? 'succeeded' : 'failed',
		status: part.status,
		headers: part.headers,
		body: part.body,
	};
	if (contentId !== undefined) result.contentId = contentId;
	if (changesetIndex !== undefined) result.changesetIndex = changesetIndex;
	if (!ok) result.error = readDataverseError(part.body, part.status);
	return result;
}

function missing(
	index: number,
	outcome: BatchOutcome,
	contentId: string | undefined,
	changesetIndex: number | undefined,
	error?: DataverseErrorBody,
	status = 0,
): BatchOperationResult {
	const result: BatchOperationResult = { index, outcome, status, headers: {}, body: '' };
	if (contentId !== undefined) result.contentId = contentId;
	if (changesetIndex !== undefined) result.changesetIndex = changesetIndex;
	if (error) result.error = error;
	return result;
}

/**
 * The results of a changeset that failed as a whole and was answered by one error part: the part
 * its Content-ID names failed, the others were rolled back. Without a Content-ID the failing
 * operation is unknown, so every operation carries the error.
 */
function failedChangeset(
	part: ParsedResponsePart,
	ids: Array<string | undefined>,
	first: number,
	changesetIndex: number,
): BatchOperationResult[] {
	const failing = ids.findIndex((id) => id !== undefined && id === part.contentId);
	const error = readDataverseError(part.body, part.status);
	return ids.map((id, i) => {
		if (failing === -1 || failing === i) {
			const result = resultOf(part, first + i, id, changesetIndex);
			if (result.outcome === 'succeeded') result.outcome = 'failed';
			result.error ??= error;
			return result;
		}
		return missing(first + i, 'rolledBack', id, changesetIndex, error, part.status);
	});
}

/**
 * Matches the parsed response parts to the batch items. A failed changeset answers with its error
 * alone, inside a `changesetresponse` wrapper (or, from other OData services, as a plain part);
 * its Content-ID names the failing operation and the others are rolled back
 * (webapi/execute-batch-operations-using-web-api.md; MicrosoftDocs/powerapps-docs #2735). When
 * Dataverse stopped early, the unanswered operations are `notExecuted`.
 */
export function matchBatchResults(
	items: BatchItem[],
	contentIds: Array<string | undefined>,
	parts: ParsedBatchPart[],
): BatchOperationResult[] {
	const results: BatchOperationResult[] = [];
	let index = 0;
	items.forEach((item, itemIndex) => {
		const part = parts[itemIndex];
		if (!isChangeset(item)) {
			const contentId = contentIds[index];
			if (!part) results.push(missing(index, 'notExecuted', contentId, undefined));
			else if ('changeset' in part)
				throw new Error(`$batch answered operation ${index} with a changeset`);
			else results.push(resultOf(part, index, contentId, undefined));
			index++;
			return;
		}
		const ids = item.changeset.map((_, i) => contentIds[index + i]);
		if (!part) {
			ids.forEach((id, i) => results.push(missing(index + i, 'notExecuted', id, itemIndex)));
		} else if ('changeset' in part) {
			const failure = part.changeset.find((p) => p.status >= 400);
			if (failure && (part.changeset.length === 1 || part.changeset.length < ids.length)) {
				results.push(...failedChangeset(failure, ids, index, itemIndex));
			} else {
				ids.forEach((id, i) => {
					const answer =
						part.changeset.find((p) => p.contentId !== undefined && p.contentId === id) ??
						part.changeset[i];
					const result = answer
						? resultOf(answer, index + i, id, itemIndex)
						: missing(index + i, 'notExecuted', id, itemIndex);
					// A changeset is atomic: beside a failure, what succeeded was rolled back.
					if (failure && result.outcome === 'succeeded') result.outcome = 'rolledBack';
					results.push(result);
				});
			}
		} else if (part.status < 300 && item.changeset.length === 1) {
			results.push(resultOf(part, index, ids[0], itemIndex));
		} else {
			// One answer for the whole changeset means it failed as a whole.
			results.push(...failedChangeset(part, ids, index, itemIndex));
		}
		index += item.changeset.length;
	});
	return results;
}
