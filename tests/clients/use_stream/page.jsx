// A chat page as an application builds it on the official React hook: useStream from
// @langchain/langgraph-sdk/react. What the hook made of the server's stream is published on
// window.__state for drive.mjs to read; nothing here knows which server it talks to.
import { useStream } from "@langchain/langgraph-sdk/react";
import { useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";

const CASE = JSON.parse(new URLSearchParams(window.location.search).get("case"));

function text(content) {
  return typeof content === "string" ? content : JSON.stringify(content);
}

function App() {
  const [threadId, setThreadId] = useState(CASE.threadId ?? null);
  const errors = useRef([]);
  const aiTexts = useRef([]);
  const loading = useRef({ started: false, finished: false });
  const stream = useStream({
    apiUrl: CASE.api,
    assistantId: CASE.assistant,
    messagesKey: "messages",
    threadId,
    onThreadId: setThreadId,
    defaultHeaders: CASE.headers,
    onError: (error) => errors.current.push(String(error?.message ?? error)),
  });

  // Every text the last AI answer showed, with when: an answer that grew token by token, or
  // all at once at the end of the run.
  const last = stream.messages.at(-1);
  if (last?.type === "ai") {
    const seen = aiTexts.current;
    const current = text(last.content);
    if (seen.at(-1)?.text !== current) seen.push({ text: current, at: performance.now() });
  }
  if (stream.isLoading) loading.current.started = true;
  else if (loading.current.started) loading.current.finished = true;

  useEffect(() => {
    window.__state = {
      threadId,
      isLoading: stream.isLoading,
      finished: loading.current.finished,
      error: stream.error ? String(stream.error?.message ?? stream.error) : null,
      errors: errors.current,
      messages: stream.messages.map((message) => ({
        type: message.type,
        content: text(message.content),
        tool_calls: (message.tool_calls ?? []).map((call) => call.name),
      })),
      aiTexts: aiTexts.current,
    };
  });

  const send = () =>
    stream.submit(
      { messages: [{ type: "human", content: CASE.prompt }] },
      { config: { configurable: CASE.configurable } },
    );
  return (
    <main>
      <button id="send" type="button" onClick={send}>
        send
      </button>
      <ol>
        {stream.messages.map((message, index) => (
          <li key={message.id ?? index} className={message.type}>
            {text(message.content)}
          </li>
        ))}
      </ol>
    </main>
  );
}

createRoot(document.getElementById("root")).render(<App />);
