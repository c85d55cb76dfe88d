// mailauth authenticate() throughput on the corpus written by corpus.py (--mailauth-corpus / --eml).
//
//   node mailauth_bench.mjs CORPUS_DIR [NODE_PREFIX] [--limit N]
//
// Loads every eml/*.eml into memory first, then awaits authenticate() for each in turn (one
// core, as Node runs it) with an offline resolver over CORPUS_DIR/dns.json, the same records as
// the mailaudit snapshot. Envelope data (ip, helo, sender) comes from manifest.jsonl, the values
// the receiving MTA would have passed. Prints one JSON object on stdout.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const args = process.argv.slice(2);
const limitAt = args.indexOf('--limit');
const limit = limitAt >= 0 ? Number(args[limitAt + 1]) : Infinity;
const positional = args.filter((a, i) => !a.startsWith('--') && (limitAt < 0 || i !== limitAt + 1));
const corpus = path.resolve(positional[0]);
const prefix = path.resolve(positional[1] || path.join(path.dirname(new URL(import.meta.url).pathname), 'out', 'node'));

const require = createRequire(path.join(prefix, 'node_modules', '_'));
const { authenticate } = require('mailauth');
const version = require('mailauth/package.json').version;

const dns = JSON.parse(readFileSync(path.join(corpus, 'dns.json'), 'utf-8'));
// Node's resolver error codes, which mailauth maps to none/neutral (never temperror).
const fail = code => Object.assign(new Error(code), { code });
const resolver = async (name, rrtype) => {
    const entry = dns[String(name).replace(/\.$/, '').toLowerCase()];
    if (!entry) throw fail('ENOTFOUND');
    const answers = entry[rrtype];
    if (!answers || !answers.length) throw fail('ENODATA');
    return answers;
};

const manifest = new Map();
for (const line of readFileSync(path.join(corpus, 'manifest.jsonl'), 'utf-8').split('\n')) {
    if (line) { const m = JSON.parse(line); manifest.set(m.id, m); }
}
const files = readdirSync(path.join(corpus, 'eml')).filter(f => f.endsWith('.eml')).sort().slice(0, limit);
const messages = files.map(f => ({ info: manifest.get(Number(f.slice(0, -4))), raw: readFileSync(path.join(corpus, 'eml', f)) }));

const run = async (msg) => authenticate(msg.raw, {
    ip: msg.info.ip, helo: msg.info.helo, sender: msg.info.sender, mta: 'mx1.recv.example', resolver,
});

for (const m of messages.slice(0, 50)) await run(m); // warm-up: JIT, module loading

const counts = {};
const bump = k => { counts[k] = (counts[k] || 0) + 1; };
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
for (const m of messages) {
    const r = await run(m);
    bump('dkim=' + (r.dkim?.results?.[0]?.status?.result ?? 'none'));
    bump('spf=' + (r.spf?.status?.result ?? 'none'));
    bump('dmarc=' + (r.dmarc?.status?.result ?? 'none'));
    bump('arc=' + (r.arc?.status?.result ?? 'none'));
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const bytes = messages.reduce((n, m) => n + m.raw.length, 0);
process.stdout.write(JSON.stringify({
    tool: 'mailauth', version, node: process.version, messages: messages.length, bytes,
    seconds, cpu_s: cpuSeconds, msgs_per_s: messages.length / seconds,
    msgs_per_cpu_s: messages.length / cpuSeconds, max_rss_kb: process.resourceUsage().maxRSS, counts,
}) + '\n');
