// The openai npm client against a running m3 serve: prints what it got back as one JSON object on stdout.
// Usage: node client.mjs BASE_URL API_KEY, with the texts as a JSON array in $M3_TEXTS.
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
const input = JSON.parse(process.env.M3_TEXTS);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

const asFloat = await client.embeddings.create({ model: 'bge-m3', input, encoding_format: 'float' });
// Without encoding_format the client asks for base64 and decodes it to floats itself.
const asBase64 = await client.embeddings.create({ model: 'bge-m3', input });

let error = null;
try {
  await client.embeddings.create({ model: 'bge-m3', input: 'x', dimensions: 7 });
} catch (e) {
  error = e instanceof OpenAI.APIError ? { status: e.status, type: e.constructor.name, message: e.message } : { unexpected: String(e) };
}

console.log(JSON.stringify({
  model: asFloat.model,
  usage: asFloat.usage,
  float: asFloat.data.map(d => d.embedding),
  base64: asBase64.data.map(d => d.embedding),
  error,
}));
