import {
	boundaryOf,
	buildBatch,
	matchBatchResults,
	parseBatchResponse,
	type BatchItem,
} from '../../../lib/dynamics/batch';

const API = '/api/data/v9.2';
const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

function httpPart(status: string, headers: string[], body?: unknown, contentId?: string): string {
	return [
		'Content-Type: application/http',
		'Content-Transfer-Encoding: binary',
		...(contentId ? [`Content-ID: ${contentId}`] : []),
		'',
		`HTTP/1.1 ${status}`,
		...headers,
		'',
		body === undefined ? '' : JSON.stringify(body),
	].join('\r\n');
}

function multipart(boundary: string, parts: string[]): string {
	return parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('') + `--${boundary}--\r\n`;
}

describe('$batch request', () => {
	it('writes operations and changesets with Content-IDs and JSON bodies', () => {
		const items: BatchItem[] = [
			{ method: 'GET', url: `${API}/contacts(${ID})?$select=fullname` },
			{
				changeset: [
					{ method: 'POST', url: `${API}/tasks`, body: { subject: 'Call' } },
					{ method: 'PATCH', url: '$1', body: { description: 'x' } },
				],
			},
		];
		const built = buildBatch(items, 'abc');
		expect(built.contentType).toBe('multipart/mixed; boundary=batch_abc');
		expect(built.contentIds).toEqual([undefined, '1', '2']);
		const body = built.body;
		expect(body).toContain(`--batch_abc\r\nContent-Type: application/http`);
		expect(body).toContain(`GET ${API}/contacts(${ID})?$select=fullname HTTP/1.1`);
		expect(body).toContain('Content-Type: multipart/mixed; boundary=changeset_abc_1');
		expect(body).toContain(
			`Content-ID: 1\r\n\r\nPOST ${API}/tasks HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n{"subject":"Call"}`,
		);
		expect(body).toContain('PATCH $1 HTTP/1.1');
		expect(body.endsWith('--batch_abc--\r\n')).toBe(true);
		expect(body.indexOf('--changeset_abc_1--')).toBeLessThan(body.indexOf('--batch_abc--'));
	});

	it('refuses GET inside a changeset and empty batches', () => {
		expect(() => buildBatch([{ changeset: [{ method: 'GET', url: `${API}/contacts` }] }])).toThrow(
			/GET is not allowed/,
		);
		expect(() => buildBatch([])).toThrow(/at least one/);
	});

	it('reads quoted and unquoted boundaries', () => {
		expect(boundaryOf('multipart/mixed; boundary="batchresponse_1"')).toBe('batchresponse_1');
		expect(boundaryOf('multipart/mixed;boundary=batchresponse_2')).toBe('batchresponse_2');
		expect(boundaryOf('application/json')).toBeUndefined();
	});
});

describe('$batch response', () => {
	const items: BatchItem[] = [
		{ method: 'GET', url: `${API}/contacts(${ID})` },
		{
			changeset: [
				{ method: 'POST', url: `${API}/tasks`, body: { subject: 'a' } },
				{ method: 'POST', url: `${API}/tasks`, body: { subject: 'b' } },
			],
		},
		{ method: 'DELETE', url: `${API}/contacts(${ID})` },
	];
	const contentIds = [undefined, '1', '2', undefined];

	it('parses a successful response with a changeset, in order', () => {
		const changeset = multipart('changesetresponse_x', [
			httpPart(
				'204 No Content',
				[`OData-EntityId: https://org.example/api/data/v9.2/tasks(${ID})`],
				undefined,
				'1',
			),
			httpPart('204 No Content', [], undefined, '2'),
		]);
		const body = multipart('batchresponse_y', [
			httpPart('200 OK', ['Content-Type: application/json; odata.metadata=minimal'], {
				contactid: ID,
				fullname: 'Ana',
			}),
			`Content-Type: multipart/mixed; boundary=changesetresponse_x\r\n\r\n${changeset}`,
			httpPart('204 No Content', []),
		]);
		const parts = parseBatchResponse('multipart/mixed; boundary=batchresponse_y', body);
		expect(parts).toHaveLength(3);
		const results = matchBatchResults(items, contentIds, parts);
		expect(results.map((r) => [r.index, r.outcome, r.status])).toEqual([
			[0, 'succeeded', 200],
			[1, 'succeeded', 204],
			[2, 'succeeded', 204],
			[3, 'succeeded', 204],
		]);
		expect(results[0].body).toEqual({ contactid: ID, fullname: 'Ana' });
		expect(results[1].headers['odata-entityid']).toContain(`tasks(${ID})`);
		expect(results[1]).toMatchObject({ contentId: '1', changesetIndex: 1 });
	});

	it('marks the failing changeset operation failed and its siblings rolled back', () => {
		const error = {
			error: { code: '0x80044331', message: "The length of the 'subject' attribute exceeded" },
		};
		const body = multipart('batchresponse_z', [
			httpPart('200 OK', ['Content-Type: application/json'], { contactid: ID }),
			httpPart('400 Bad Request', ['Content-Type: application/json'], error, '2'),
			httpPart('404 Not Found', ['Content-Type: application/json'], {
				error: { code: '0x80040217', message: 'Does Not Exist' },
			}),
		]);
		const results = matchBatchResults(
			items,
			contentIds,
			parseBatchResponse('multipart/mixed; boundary="batchresponse_z"', body),
		);
		expect(results.map((r) => r.outcome)).toEqual(['succeeded', 'rolledBack', 'failed', 'failed']);
		expect(results[2].error).toEqual({ code: '0x80044331', message: error.error.message });
		expect(results[1].error?.code).toBe('0x80044331');
		expect(results[3]).toMatchObject({ status: 404, error: { code: '0x80040217' } });
	});

	it('marks operations after a stop as not executed', () => {
		const body = multipart('b', [
			httpPart('404 Not Found', ['Content-Type: application/json'], {
				error: { code: '0x80040217', message: 'Contact Does Not Exist' },
			}),
		]);
		const results = matchBatchResults(
			items,
			contentIds,
			parseBatchResponse('multipart/mixed; boundary=b', body),
		);
		expect(results.map((r) => r.outcome)).toEqual([
			'failed',
			'notExecuted',
			'notExecuted',
			'notExecuted',
		]);
		expect(results[0].error?.message).toBe('Contact Does Not Exist');
	});

	it('round-trips a built batch through a response with LF line endings', () => {
		const built = buildBatch([{ method: 'POST', url: `${API}/contacts`, body: { lastname: 'Ö' } }]);
		expect(built.body).toContain('{"lastname":"Ö"}');
		const body = multipart('r', [
			httpPart('201 Created', ['Content-Type: application/json'], { lastname: 'Ö' }),
		]).replace(/\r\n/g, '\n');
		const [result] = matchBatchResults(
			[{ method: 'POST', url: `${API}/contacts` }],
			built.contentIds,
			parseBatchResponse('multipart/mixed; boundary=r', body),
		);
		expect(result).toMatchObject({ outcome: 'succeeded', status: 201, body: { lastname: 'Ö' } });
	});

	it('refuses a response that is not multipart', () => {
		expect(() => parseBatchResponse('application/json', '{}')).toThrow(/not multipart/);
	});
});
