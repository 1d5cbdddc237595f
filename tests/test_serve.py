"""`a3agent serve`, driven by the official `openai` client against the real app under uvicorn on
127.0.0.1: tool calls valid for their schemas (whole and streamed), tool_choice, response_format,
thinking, images, the prefix cache, and OpenAI-shaped errors with their status codes."""

import base64
import io
import json

import httpx
import jsonschema
import openai
import pytest
from PIL import Image

from tests.serve_support import serve_in_thread

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
    "required": ["city"],
}
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city.",
                                            "parameters": WEATHER_SCHEMA}}
FORECAST_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 12}, "days": {"type": "integer", "minimum": 1,
                                                                          "maximum": 7}},
    "required": ["city", "days"],
}
FORECAST = {"type": "function", "function": {"name": "get_forecast", "description": "Forecast for some days.",
                                             "parameters": FORECAST_SCHEMA}}
ASK = [{"role": "user", "content": "What is the weather in London?"}]
WEATHER_HISTORY = [*ASK,
                   {"role": "assistant", "content": None, "tool_calls": [
                       {"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "London"}'}}]},
                   {"role": "tool", "tool_call_id": "call_1", "content": "14 °C and cloudy"}]
"""The question, the call the scripted model makes for it, and the tool's answer."""
BODY_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def scripted():
    """The scripted model's weather episode: it thinks, then calls get_weather(city="London")."""
    from a3agent.model.scripted import load_scripted

    with serve_in_thread(load_scripted("weather_episode"), max_body_bytes=BODY_LIMIT) as running:
        yield running


@pytest.fixture(scope="module")
def tiny(tiny_loaded):
    """The tiny random-weight model: whatever it writes under the grammar must parse and validate."""
    limit = tiny_loaded.context_length
    with serve_in_thread(tiny_loaded, max_body_bytes=BODY_LIMIT, max_tokens_limit=limit) as running:
        yield running


def client(running, **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, **options)


def png_data_url(size=(64, 48)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def assemble_stream(chunks):
    """Content, reasoning, calls (by index) and finish reason from a list of chunks, checking the call
    deltas' order: id and name first, then argument fragments only."""
    content, reasoning, calls, finish, usage = "", "", {}, None, None
    for chunk in chunks:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            delta = choice.delta
            content += delta.content or ""
            reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
            for call in delta.tool_calls or []:
                if call.index not in calls:
                    assert call.id and call.function.name and call.function.arguments == ""
                    calls[call.index] = {"id": call.id, "name": call.function.name, "fragments": []}
                else:
                    assert call.id is None and call.function.name is None
                    calls[call.index]["fragments"].append(call.function.arguments)
            finish = choice.finish_reason or finish
    return content, reasoning, calls, finish, usage


# -- tool calls -----------------------------------------------------------------------------------


def test_auto_tool_call_parses_into_tool_calls_with_arguments_valid_for_the_schema(scripted):
    response = client(scripted).chat.completions.create(
        model="test-model", messages=ASK, tools=[WEATHER, FORECAST], max_tokens=120, temperature=0)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, WEATHER_SCHEMA)
    assert arguments == {"city": "London"}
    assert "get_weather" in choice.message.model_extra["reasoning_content"]


def test_streamed_tool_call_arrives_as_id_and_name_then_argument_fragments(scripted):
    stream = client(scripted).chat.completions.create(
        model="test-model", messages=ASK, tools=[WEATHER], max_tokens=120, temperature=0, stream=True,
        stream_options={"include_usage": True})
    content, reasoning, calls, finish, usage = assemble_stream(list(stream))
    assert finish == "tool_calls" and content == ""
    assert reasoning == "The user wants the current weather in London, so I'll call get_weather."
    (call,) = calls.values()
    assert call["name"] == "get_weather" and len(call["fragments"]) > 1
    assert json.loads("".join(call["fragments"])) == {"city": "London"}
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0


def test_named_tool_choice_makes_the_random_model_call_that_tool_validly(tiny):
    response = client(tiny).chat.completions.create(
        model="test-model", messages=ASK, tools=[WEATHER, FORECAST], max_tokens=40, temperature=1.0, seed=3,
        tool_choice={"type": "function", "function": {"name": "get_forecast"}})
    calls = response.choices[0].message.tool_calls
    assert calls and {call.function.name for call in calls} == {"get_forecast"}
    for call in calls:
        jsonschema.validate(json.loads(call.function.arguments), FORECAST_SCHEMA)


def test_required_tool_choice_streamed_from_the_random_model_assembles_valid_calls(tiny):
    stream = client(tiny).chat.completions.create(
        model="test-model", messages=ASK, tools=[WEATHER, FORECAST], max_tokens=40, temperature=1.0, seed=5,
        tool_choice="required", parallel_tool_calls=False, stream=True)
    _, _, calls, finish, _ = assemble_stream(list(stream))
    assert finish in ("tool_calls", "length") and len(calls) == 1
    (call,) = calls.values()
    schema = WEATHER_SCHEMA if call["name"] == "get_weather" else FORECAST_SCHEMA
    jsonschema.validate(json.loads("".join(call["fragments"])), schema)


def test_tool_choice_none_keeps_the_model_from_the_call_it_means(scripted):
    response = client(scripted).chat.completions.create(
        model="test-model", messages=ASK, tools=[WEATHER], tool_choice="none", max_tokens=60, temperature=0)
    assert response.choices[0].message.tool_calls is None
    assert response.choices[0].finish_reason == "stop"


def test_parallel_tool_calls_false_keeps_only_the_first_of_the_calls_the_model_means():
    from a3agent.model.scripted import load_scripted

    two = "\n".join(f'<tool_call>\n{{"name": "get_weather", "arguments": {{"city": "{city}"}}}}\n</tool_call>'
                    for city in ("London", "Paris"))
    with serve_in_thread(load_scripted([f"Two cities, two calls.</think>\n\n{two}"])) as running:
        cities = {}
        for parallel in (True, False):
            response = client(running).chat.completions.create(
                model="test-model", messages=ASK, tools=[WEATHER], max_tokens=120, temperature=0,
                parallel_tool_calls=parallel)
            assert response.choices[0].finish_reason == "tool_calls"
            cities[parallel] = [json.loads(call.function.arguments)["city"]
                                for call in response.choices[0].message.tool_calls]
    assert cities == {True: ["London", "Paris"], False: ["London"]}


# -- response_format and thinking ----------------------------------------------------------------


def test_json_schema_response_validates_and_comes_after_filled_reasoning(tiny):
    schema = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 8},
                                               "score": {"type": "integer"}},
              "required": ["answer", "score"], "additionalProperties": False}
    response = client(tiny).chat.completions.create(
        model="test-model", messages=ASK, max_tokens=48, temperature=1.0, seed=11,
        response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": True}})
    message = response.choices[0].message
    jsonschema.validate(json.loads(message.content), schema)
    assert message.model_extra["reasoning_content"].strip()


def test_json_object_with_thinking_off_has_no_reasoning(tiny):
    response = client(tiny).chat.completions.create(
        model="test-model", messages=ASK, max_tokens=24, temperature=1.0, seed=2,
        response_format={"type": "json_object"}, extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    message = response.choices[0].message
    assert isinstance(json.loads(message.content), dict)
    assert message.model_extra.get("reasoning_content") is None
    assert response.usage.completion_tokens_details.reasoning_tokens == 0


def test_max_thinking_tokens_bounds_the_think_block(tiny):
    response = client(tiny).chat.completions.create(
        model="test-model", messages=ASK, max_tokens=24, temperature=1.0, seed=4,
        extra_body={"min_thinking_tokens": 1, "max_thinking_tokens": 3})
    assert 1 <= response.usage.completion_tokens_details.reasoning_tokens <= 3
    assert response.choices[0].message.model_extra["reasoning_content"]


def test_same_seed_same_sampled_answer(tiny):
    ask = {"model": "test-model", "messages": ASK, "max_tokens": 12, "temperature": 1.0, "seed": 1234}
    first, second = (client(tiny).chat.completions.create(**ask) for _ in range(2))
    assert first.choices[0].message.model_dump() == second.choices[0].message.model_dump()


def test_a_stop_string_cuts_the_answer_before_it_and_finishes_with_stop(scripted):
    response = client(scripted).chat.completions.create(
        model="test-model", messages=WEATHER_HISTORY, tools=[WEATHER], max_tokens=80, temperature=0, stop=[" in London", "zz"])
    assert response.choices[0].message.content == "It's 14 °C and cloudy"
    assert response.choices[0].finish_reason == "stop"


def test_a_tiny_top_p_samples_only_the_likeliest_token_and_max_completion_tokens_bounds_the_turn(tiny):
    ask = {"model": "test-model", "messages": ASK, "max_completion_tokens": 14}
    greedy = client(tiny).chat.completions.create(**ask, temperature=0)
    nucleus = client(tiny).chat.completions.create(**ask, temperature=2.0, top_p=1e-9, seed=7)
    wide = client(tiny).chat.completions.create(**ask, temperature=2.0, top_p=1.0, seed=7)
    assert nucleus.choices[0].message.model_dump() == greedy.choices[0].message.model_dump()
    assert wide.choices[0].message.model_dump() != greedy.choices[0].message.model_dump()
    assert greedy.usage.completion_tokens <= 14 and greedy.choices[0].finish_reason == "length"


# -- images and the prefix cache ------------------------------------------------------------------


def test_image_as_data_url_is_part_of_the_prompt(tiny):
    ask = [{"role": "user", "content": [{"type": "text", "text": "What is in the image?"},
                                        {"type": "image_url", "image_url": {"url": png_data_url()}}]}]
    text_only = [{"role": "user", "content": "What is in the image?"}]
    with_image, without = (client(tiny).chat.completions.create(
        model="test-model", messages=messages, max_tokens=12, temperature=0) for messages in (ask, text_only))
    # the image adds <|vision_start|>, <|vision_end|> and at least one <|image_pad|>
    assert with_image.usage.prompt_tokens > without.usage.prompt_tokens + 2


def test_http_image_url_is_refused_unless_the_server_allows_it(tiny):
    ask = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://127.0.0.1/x.png"}}]}]
    with pytest.raises(openai.BadRequestError) as error:
        client(tiny).chat.completions.create(model="test-model", messages=ask, max_tokens=8)
    assert error.value.body["param"] == "messages[0].content[0].image_url"
    assert "--allow-image-urls" in error.value.body["message"]


def test_second_turn_resending_the_history_is_served_from_the_prefix_cache(tiny):
    api = client(tiny)
    first = api.chat.completions.create(model="test-model", messages=ASK, max_tokens=16, temperature=0)
    reply = first.choices[0].message
    history = [*ASK, {"role": "assistant", "content": reply.content,
                      "reasoning_content": reply.model_extra["reasoning_content"]},
               {"role": "user", "content": "And tomorrow?"}]
    second = api.chat.completions.create(model="test-model", messages=history, max_tokens=16, temperature=0)
    assert first.usage.prompt_tokens_details.cached_tokens < first.usage.prompt_tokens
    assert second.usage.prompt_tokens_details.cached_tokens >= first.usage.prompt_tokens


def test_assistant_tool_calls_and_tool_results_in_history_are_accepted(scripted):
    response = client(scripted).chat.completions.create(
        model="test-model", messages=WEATHER_HISTORY, tools=[WEATHER], max_tokens=80, temperature=0)
    assert response.choices[0].message.content == "It's 14 °C and cloudy in London right now."
    assert response.choices[0].finish_reason == "stop"


# -- errors ---------------------------------------------------------------------------------------


def test_a_tool_schema_the_engine_refuses_is_a_400_naming_the_tool_and_the_json_path(scripted):
    bad = {"type": "function", "function": {"name": "lookaround", "parameters": {
        "type": "object", "properties": {"q": {"type": "string", "pattern": "(?<=a)b"}}}}}
    with pytest.raises(openai.BadRequestError) as error:
        client(scripted).chat.completions.create(model="test-model", messages=ASK, tools=[WEATHER, bad])
    body = error.value.body
    assert body["param"] == "tools[1].function.parameters" and body["path"] == "/properties/q"
    assert body["code"] == "unsupported_schema" and "/properties/q" in body["message"]


def test_a_response_schema_the_engine_refuses_is_a_400_with_its_path(scripted):
    schema = {"type": "object", "properties": {"a": {"$dynamicRef": "#x"}}}
    with pytest.raises(openai.BadRequestError) as error:
        client(scripted).chat.completions.create(
            model="test-model", messages=ASK,
            response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}})
    assert error.value.body["param"] == "response_format.json_schema.schema"
    assert error.value.body["path"] == "/properties/a"


def test_unknown_model_is_a_404(scripted):
    with pytest.raises(openai.NotFoundError) as error:
        client(scripted).chat.completions.create(model="gpt-4o", messages=ASK)
    assert error.value.body["code"] == "model_not_found"


@pytest.mark.parametrize("field, value", [("n", 2), ("logprobs", True), ("presence_penalty", 0.5)])
def test_unsupported_sampling_fields_are_a_400_naming_the_field(scripted, field, value):
    with pytest.raises(openai.BadRequestError) as error:
        client(scripted).chat.completions.create(model="test-model", messages=ASK, **{field: value})
    assert error.value.body["param"] == field


def test_a_body_over_the_limit_is_a_413(scripted):
    with pytest.raises(openai.APIStatusError) as error:
        client(scripted).chat.completions.create(
            model="test-model", messages=[{"role": "user", "content": "x" * BODY_LIMIT}])
    assert error.value.status_code == 413
    assert error.value.body["type"] == "invalid_request_error"


@pytest.mark.parametrize("body, param", [
    (b"{not json", None),
    (b'{"model": "test-model", "messages": []}', "messages"),
    (b'{"model": "test-model", "messages": [{"role": "wizard", "content": "hi"}]}', "messages[0]"),
    (b'{"model": "test-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}', "max_tokens"),
    (b'{"model": "test-model", "messages": "hi"}', "messages"),
    (b'{"model": 3, "messages": [{"role": "user", "content": "hi"}]}', "model"),
    (b'{"model": "test-model", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}',
     "temperature"),
    ((b'{"model": "test-model", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": '
      b'"data:x"}]}]}'), "messages[0].content[0].image_url"),
    (b'{"model": "test-model", "messages": [{"role": "tool", "content": "14 C"}]}', "messages[0].tool_call_id"),
    (b'{"model": "test-model", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "sometimes"}',
     "tool_choice"),
    (b'{"model": "test-model", "messages": [{"role": "user", "content": "hi"}], "seed": 18446744073709551616}',
     "seed"),
    ((b'{"model": "test-model", "messages": [{"role": "user", "content": "hi"}], "stream": true, '
      b'"stream_options": "yes"}'), "stream_options"),
    (b'{"model": "test-model", "messages": ' + b"[" * 1000 + b"]" * 1000 + b"}", None),
])
def test_malformed_bodies_are_400s_in_openai_error_shape(scripted, body, param):
    response = httpx.post(f"{scripted.base_url}/chat/completions", content=body,
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    if param is not None:
        assert error["param"] == param


def test_a_max_tokens_past_the_context_or_the_servers_limit_is_a_400(tiny, tiny_loaded):
    api = client(tiny)
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(model="test-model", messages=ASK, max_tokens=tiny_loaded.context_length)
    assert error.value.body["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(model="test-model", messages=ASK,
                                    max_completion_tokens=tiny_loaded.context_length + 1)
    assert error.value.body["param"] == "max_completion_tokens" and "at most" in error.value.body["message"]


def test_a_max_tokens_below_the_shortest_valid_turn_is_a_400_not_an_overrun(scripted):
    with pytest.raises(openai.BadRequestError) as error:
        client(scripted).chat.completions.create(model="test-model", messages=ASK, tools=[WEATHER],
                                                 tool_choice="required", max_tokens=3)
    assert error.value.body["param"] == "max_tokens" and "shortest turn" in error.value.body["message"]


def test_unknown_route_is_a_404_in_openai_shape(scripted):
    response = httpx.get(f"{scripted.base_url}/embeddings")
    assert response.status_code == 404 and response.json()["error"]["type"] == "invalid_request_error"


def test_models_lists_the_one_model(scripted):
    assert [model.id for model in client(scripted).models.list()] == ["test-model"]


def test_an_api_key_is_required_when_the_server_has_one():
    from a3agent.model.scripted import load_scripted

    with serve_in_thread(load_scripted("weather_episode"), api_key="s3cret") as running:
        with pytest.raises(openai.AuthenticationError) as error:
            client(running).models.list()
        assert error.value.body["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            httpx_client = openai.OpenAI(base_url=running.base_url, api_key="wrong", max_retries=0)
            httpx_client.chat.completions.create(model="test-model", messages=ASK)
        keyed = openai.OpenAI(base_url=running.base_url, api_key="s3cret", max_retries=0)
        assert [model.id for model in keyed.models.list()] == ["test-model"]
