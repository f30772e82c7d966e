"""The notes' asynchronous web server (aiohttp), for the benchmark's comparison.

The same endpoints as the exercise: /, /fast, /medium, /slow, /mixed (asyncio.gather) and
/sequential, with JSON bodies, an X-Response-Time middleware and durations multiplied by
--scale (0: instant). One thread, one event loop.

    python3 notes_aiohttp_server.py --port 8082 --scale 0
"""
import argparse
import asyncio
import random
import time

from aiohttp import web

RANGES = {"fast": (0.1, 0.3), "medium": (0.5, 1.5), "slow": (2.0, 4.0)}


def make_app(scale):
    async def operation(name):
        low, high = RANGES[name]
        start = time.perf_counter()
        await asyncio.sleep(random.uniform(low, high) * scale)  # never time.sleep here
        return {"name": name, "ms": (time.perf_counter() - start) * 1000}

    def answer(endpoint, operations, start):
        return web.json_response({"endpoint": endpoint, "operations": operations,
                                  "total_ms": (time.perf_counter() - start) * 1000})

    async def index(request):
        return web.json_response({"server": "aiohttp", "endpoints": [
            "/", "/fast", "/medium", "/slow", "/mixed", "/sequential"]})

    def single(name):
        async def handler(request):
            start = time.perf_counter()
            return answer(request.path, [await operation(name)], start)
        return handler

    async def mixed(request):
        start = time.perf_counter()
        operations = await asyncio.gather(operation("fast"), operation("medium"), operation("slow"))
        return answer("/mixed", list(operations), start)

    async def sequential(request):
        start = time.perf_counter()
        operations = [await operation("fast"), await operation("medium"), await operation("slow")]
        return answer("/sequential", operations, start)

    @web.middleware
    async def response_time(request, handler):
        start = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as error:
            response = web.json_response({"status": error.status, "error": error.reason},
                                         status=error.status)
        response.headers["X-Response-Time"] = "%.3fms" % ((time.perf_counter() - start) * 1000)
        return response

    app = web.Application(middlewares=[response_time])
    app.add_routes([web.get("/", index), web.get("/fast", single("fast")),
                    web.get("/medium", single("medium")), web.get("/slow", single("slow")),
                    web.get("/mixed", mixed), web.get("/sequential", sequential)])
    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    web.run_app(make_app(args.scale), host="127.0.0.1", port=args.port, access_log=None,
                print=lambda text: print(text, flush=True))


if __name__ == "__main__":
    main()
