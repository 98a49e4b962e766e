/**
 * `$batch`: a multipart/mixed parser for batch requests (with changesets and Content-ID
 * references) and the multipart response Dataverse writes. A changeset is atomic: when one of its
 * requests fails, the store is rolled back to where the changeset began.
 */
import { randomUUID } from 'node:crypto';
import type { Reply } from '../common/server';
import { DataverseApi, errorReply } from './api';
import { API_PATH } from './query';
import { StoreError } from './store';

export const MAX_BATCH_REQUESTS = 1000;

export interface BatchRequestPart {
	method: string;
	url: string;
	headers: Record<string, string>;
	body: string;
	contentId?: string;
}

export type BatchItem =
	| { kind: 'request'; request: BatchRequestPart }
	| { kind: 'changeset'; requests: BatchRequestPart[] };

function batchError(message: string): StoreError {
	return new StoreError(400, '0x80060888', message);
}

export function boundaryOf(contentType: string | undefined): string | undefined {
	const match = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
	return match ? (match[1] ?? match[2]) : undefined;
}

/** Splits a multipart body into its parts (the text between boundary lines). */
function splitParts(body: string, boundary: string): string[] {
	const lines = body.split(/\r?\n/);
	const parts: string[] = [];
	let current: string[] | null = null;
	let closed = false;
	for (const line of lines) {
		const trimmed = line.trimEnd();
		if (trimmed === `--${boundary}`) {
			if (current) parts.push(current.join('\r\n'));
			current = [];
			continue;
		}
		if (trimmed === `--${boundary}--`) {
			if (current) parts.push(current.join('\r\n'));
			current = null;
			closed = true;
			break;
		}
		current?.push(line);
	}
	if (!closed) throw batchError(`The batch body is not terminated by '--${boundary}--'.`);
	return parts;
}

/** Reads `Name: value` lines up to the first blank line. */
function readHeaders(text: string): { headers: Record<string, string>; rest: string } {
	const lines = text.split(/\r?\n/);
	const headers: Record<string, string> = {};
	let i = 0;
	for (; i < lines.length; i++) {
		const line = lines[i];
		if (line.trim() === '') {
			i++;
			break;
		}
		const colon = line.indexOf(':');
		if (colon < 0) throw batchError(`The header line '${line}' of a batch part is not valid.`);
		headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
	}
	return { headers, rest: lines.slice(i).join('\r\n') };
}

function parseHttpPart(text: string, partHeaders: Record<string, string>): BatchRequestPart {
	if (!/application\/http/i.test(partHeaders['content-type'] ?? '')) {
		throw batchError("Each batch part must have 'Content-Type: application/http'.");
	}
	const { rest } = { rest: text };
	const lines = rest.split(/\r?\n/);
	let i = 0;
	while (i < lines.length && lines[i].trim() === '') i++;
	const requestLine = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/1\.[01])?\s*$/.exec(lines[i] ?? '');
	if (!requestLine)
		throw batchError(`The request line '${lines[i] ?? ''}' of a batch part is not valid.`);
	const { headers, rest: body } = readHeaders(lines.slice(i + 1).join('\r\n'));
	return {
		method: requestLine[1],
		url: requestLine[2],
		headers,
		body: body.replace(/(\r?\n)+$/, ''),
		contentId: partHeaders['content-id'] ?? headers['content-id'],
	};
}

/** Parses a `$batch` request body. */
export function parseBatch(body: string, contentType: string | undefined): BatchItem[] {
	const boundary = boundaryOf(contentType);
	if (!boundary || !/multipart\/mixed/i.test(contentType ?? '')) {
		throw batchError("The batch request must have 'Content-Type: multipart/mixed; boundary=...'.");
	}
	const items: BatchItem[] = [];
	let count = 0;
	for (const part of splitParts(body, boundary)) {
		const { headers, rest } = readHeaders(part);
		const type = headers['content-type'] ?? '';
		if (/multipart\/mixed/i.test(type)) {
			const inner = boundaryOf(type);
			if (!inner) throw batchError('A changeset has no boundary.');
			const requests = splitParts(rest, inner).map((p) => {
				const h = readHeaders(p);
				const request = parseHttpPart(h.rest, h.headers);
				if (request.method === 'GET')
					throw batchError('GET requests are not allowed inside a changeset.');
				return request;
			});
			count += requests.length;
			items.push({ kind: 'changeset', requests });
		} else {
			items.push({ kind: 'request', request: parseHttpPart(rest, headers) });
			count++;
		}
		if (count > MAX_BATCH_REQUESTS) {
			throw batchError(
				`The number of requests in the batch exceeds the limit of ${MAX_BATCH_REQUESTS}.`,
			);
		}
	}
	return items;
}

const STATUS_TEXT: Record<number, string> = {
	200: 'OK',
	201: 'Created',
	204: 'No Content',
	304: 'Not Modified',
	400: 'Bad Request',
	401: 'Unauthorized',
	404: 'Not Found',
	405: 'Method Not Allowed',
	412: 'Precondition Failed',
	429: 'Too Many Requests',
	500: 'Internal Server Error',
};

function renderPart(reply: Reply, contentId?: string): string {
	const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
	if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
	lines.push('', `HTTP/1.1 ${reply.status} ${STATUS_TEXT[reply.status] ?? ''}`.trimEnd());
	const headers = { ...(reply.headers ?? {}) };
	if (reply.body !== undefined && typeof reply.body !== 'string') {
		headers['Content-Type'] = 'application/json; odata.metadata=minimal; odata.streaming=true';
	}
	for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
	lines.push('');
	if (reply.body !== undefined)
		lines.push(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
	else lines.push('');
	return lines.join('\r\n');
}

/** Maps a part's URL (absolute, server-relative, relative or `$n`) to a path after the API root. */
function apiPath(
	url: string,
	baseUrl: string,
	contentIds: Map<string, string>,
): { path: string; query: string } {
	let target = url;
	const reference = /^\$([A-Za-z0-9_-]+)(.*)$/.exec(target);
	if (reference) {
		const resolved = contentIds.get(reference[1]);
		if (!resolved)
			throw batchError(
				`Content-ID Reference: '$${reference[1]}' does not exist in the batch context.`,
			);
		target = resolved + reference[2];
	}
	if (/^https?:\/\//i.test(target)) {
		const parsed = new URL(target);
		target = parsed.pathname + parsed.search;
	}
	if (target.startsWith(API_PATH)) target = target.slice(API_PATH.length);
	else if (target.startsWith('/'))
		throw batchError(`The URL '${url}' of a batch part is not under ${API_PATH}.`);
	const q = target.indexOf('?');
	void baseUrl;
	return q >= 0
		? { path: target.slice(0, q), query: target.slice(q + 1) }
		: { path: target, query: '' };
}

/** Runs a parsed batch and writes Dataverse's multipart answer. */
export function executeBatch(
	api: DataverseApi,
	items: BatchItem[],
	outerHeaders: Record<string, string | undefined>,
	baseUrl: string,
	continueOnError: boolean,
): Reply {
	const boundary = `batchresponse_${randomUUID()}`;
	const chunks: string[] = [];
	let failed = false;

	const run = (part: BatchRequestPart, contentIds: Map<string, string>): Reply => {
		let location: { path: string; query: string };
		try {
			location = apiPath(part.url, baseUrl, contentIds);
		} catch (error) {
			if (error instanceof StoreError) return errorReply(error.status, error.code, error.message);
			throw error;
		}
		const headers: Record<string, string | undefined> = {
			authorization: outerHeaders.authorization,
			...part.headers,
		};
		return api.execute({
			method: part.method,
			path: location.path,
			query: new URLSearchParams(location.query),
			headers,
			body: part.body,
			baseUrl,
			resolveContentId: (ref) => contentIds.get(ref.replace(/^\$/, '')),
		});
	};

	for (const item of items) {
		if (item.kind === 'request') {
			const reply = run(item.request, new Map());
			chunks.push(`--${boundary}\r\n${renderPart(reply)}`);
			if (reply.status >= 400) {
				failed = true;
				if (!continueOnError) break;
			}
			continue;
		}
		const changeset = `changesetresponse_${randomUUID()}`;
		const contentIds = new Map<string, string>();
		const parts: string[] = [];
		let failure: Reply | undefined;
		let failingContentId: string | undefined;
		try {
			api.store.transaction(() => {
				for (const request of item.requests) {
					const reply = run(request, contentIds);
					if (reply.status >= 400) {
						failure = reply;
						failingContentId = request.contentId;
						throw new RollBack();
					}
					const entityId = reply.headers?.['OData-EntityId'];
					if (request.contentId !== undefined && entityId) {
						contentIds.set(
							request.contentId,
							entityId.startsWith(baseUrl) ? entityId.slice(baseUrl.length) : entityId,
						);
					}
					parts.push(`--${changeset}\r\n${renderPart(reply, request.contentId)}`);
				}
			});
		} catch (error) {
			if (!(error instanceof RollBack)) throw error;
		}
		if (failure) {
			failed = true;
			// A failed changeset answers in its changeset wrapper with the failing request alone,
			// named by its Content-ID; the others were rolled back and get no answer.
			chunks.push(
				`--${boundary}\r\nContent-Type: multipart/mixed; boundary=${changeset}\r\n\r\n--${changeset}\r\n${renderPart(failure, failingContentId)}\r\n--${changeset}--\r\n`,
			);
			if (!continueOnError) break;
			continue;
		}
		chunks.push(
			`--${boundary}\r\nContent-Type: multipart/mixed; boundary=${changeset}\r\n\r\n${parts.join('\r\n')}\r\n--${changeset}--\r\n`,
		);
	}
	const body = `${chunks.join('\r\n')}\r\n--${boundary}--\r\n`;
	return {
		status: failed && !continueOnError ? 400 : 200,
		headers: {
			'OData-Version': '4.0',
			'Content-Type': `multipart/mixed; boundary=${boundary}`,
			...(continueOnError ? { 'Preference-Applied': 'odata.continue-on-error' } : {}),
		},
		body,
	};
}

class RollBack extends Error {}
