package io.etcetera.server;

import io.etcetera.server.http.HttpRoutes;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.ChannelDuplexHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelPromise;
import io.grpc.netty.shaded.io.netty.channel.SimpleChannelInboundHandler;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpRequest;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaderNames;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaderValues;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpObjectAggregator;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponseStatus;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpServerCodec;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpVersion;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * gRPC and etcd's HTTP endpoints on the same plain client port, as etcd serves {@code curl
 * http://127.0.0.1:2379/health} beside gRPC. Each connection starts with a sniffer at the head of
 * the pipeline: when the first bytes are an HTTP/1 request line it answers with {@link HttpRoutes}
 * (one request, then the connection closes); anything else (the HTTP/2 preface of every gRPC client)
 * goes to gRPC's own plaintext handlers, which were set up as usual behind it. Until it decides,
 * the sniffer holds back what gRPC writes (its SETTINGS frame), so an HTTP/1 client never sees
 * HTTP/2 bytes; a gRPC connection gets them, in order, before anything else.
 *
 * <p>Threading: the handlers run on the connection's event loop; a request's answer is computed
 * on {@code threads} (a linearizable health check waits for a ReadIndex round) and written back
 * from there (Netty hands the write to the event loop).
 */
final class PlaintextHttpSniffing implements InternalProtocolNegotiator.ProtocolNegotiator {

  private static final String[] HTTP1_METHODS = {"GET ", "HEAD", "POST", "PUT ", "DELE", "OPTI", "PATC", "TRAC", "CONN"};

  private final InternalProtocolNegotiator.ProtocolNegotiator grpc = InternalProtocolNegotiators.serverPlaintext();
  private final HttpRoutes routes;
  private final io.etcetera.server.gateway.GrpcGateway gateway;
  private final int maxRequestBytes;
  private final Executor threads;

  /**
   * @param gateway etcd's JSON gateway for {@code /v3/} paths
   * @param maxRequestBytes the largest HTTP/1 request body taken (a gateway put carries its value in base64)
   */
  PlaintextHttpSniffing(HttpRoutes routes, io.etcetera.server.gateway.GrpcGateway gateway, int maxRequestBytes,
      Executor threads) {
    this.routes = routes;
    this.gateway = gateway;
    this.maxRequestBytes = maxRequestBytes;
    this.threads = threads;
  }

  @Override
  public AsciiString scheme() {
    return grpc.scheme();
  }

  @Override
  public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
    ChannelHandler grpcNegotiation = grpc.newHandler(grpcHandler);
    return new ChannelHandlerAdapter() {
      @Override
      public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.pipeline().addFirst(new Sniffer());
        ctx.pipeline().replace(this, null, grpcNegotiation);
      }
    };
  }

  @Override
  public void close() {
    grpc.close();
  }

  /** Decides HTTP/1 or gRPC from the first four bytes, then leaves the pipeline. */
  private final class Sniffer extends ChannelDuplexHandler {
    private final List<Object> heldWrites = new ArrayList<>();
    private final List<ChannelPromise> heldPromises = new ArrayList<>();
    private ByteBuf first;
    private boolean decided;

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (decided) {
        ctx.write(msg, promise);
      } else {
        heldWrites.add(msg);
        heldPromises.add(promise);
      }
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
      if (decided) {
        ctx.flush();
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (decided || !(msg instanceof ByteBuf in)) {
        ctx.fireChannelRead(msg);
        return;
      }
      first = first == null ? in : Unpooled.wrappedBuffer(first, in);
      if (first.readableBytes() < 4) {
        return;
      }
      decided = true;
      ByteBuf bytes = first;
      first = null;
      if (isHttp1(bytes)) {
        for (int i = 0; i < heldWrites.size(); i++) {
          // gRPC's preface, never sent: released and reported written, so gRPC does not close the channel
          ReferenceCountUtil.release(heldWrites.get(i));
          heldPromises.get(i).trySuccess();
        }
        clearHeld();
        String name = ctx.name();
        ctx.pipeline().addAfter(name, null, new Http1Handler());
        ctx.pipeline().addAfter(name, null, new HttpObjectAggregator(maxRequestBytes));
        ctx.pipeline().addAfter(name, null, new HttpServerCodec());
      } else {
        for (int i = 0; i < heldWrites.size(); i++) {
          ctx.write(heldWrites.get(i), heldPromises.get(i));
        }
        clearHeld();
        ctx.flush();
      }
      ctx.fireChannelRead(bytes);
      ctx.pipeline().remove(this);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      if (first != null) {
        first.release();
        first = null;
      }
      for (Object held : heldWrites) {
        ReferenceCountUtil.release(held);
      }
      clearHeld();
    }

    private void clearHeld() {
      heldWrites.clear();
      heldPromises.clear();
    }

    private boolean isHttp1(ByteBuf b) {
      String start = b.toString(b.readerIndex(), 4, StandardCharsets.US_ASCII);
      for (String m : HTTP1_METHODS) {
        if (m.equals(start)) {
          return true;
        }
      }
      return false;
    }
  }

  /** Answers one HTTP/1 request with {@link HttpRoutes}, then closes the connection. */
  private final class Http1Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      String method = request.method().name();
      String uri = request.uri();
      int q = uri.indexOf('?');
      String path = q < 0 ? uri : uri.substring(0, q);
      String query = q < 0 ? null : uri.substring(q + 1);
      byte[] body = new byte[request.content().readableBytes()];
      request.content().getBytes(request.content().readerIndex(), body);
      String authorization = request.headers().get(HttpHeaderNames.AUTHORIZATION);
      if (method.equals("POST") && io.etcetera.server.gateway.GrpcGateway.isGatewayPath(path) && gateway.isStreaming(path)) {
        // a watch or keep-alive stream: its messages go out as they come, on the gRPC side's threads
        gateway.stream(path, authorization, body, new ChunkedSink(ctx));
        return;
      }
      try {
        threads.execute(() -> {
          FullHttpResponse response;
          try {
            HttpRoutes.Reply reply = io.etcetera.server.gateway.GrpcGateway.isGatewayPath(path)
                ? gateway.answer(method, path, authorization, body)
                : routes.answer(method, path, query);
            response = response(reply, method.equals("HEAD"));
          } catch (RuntimeException e) {
            response = response(new HttpRoutes.Reply(500, "text/plain; charset=utf-8", e + "\n", java.util.Map.of()), false);
          }
          ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        });
      } catch (RejectedExecutionException shuttingDown) {
        ctx.close();
      }
    }

    private FullHttpResponse response(HttpRoutes.Reply reply, boolean head) {
      byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(reply.status()),
          head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, reply.contentType());
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      reply.headers().forEach((k, v) -> r.headers().set(k, v));
      return r;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      Runnable r = whenWritable;
      if (ctx.channel().isWritable() && r != null) {
        r.run();
      }
      ctx.fireChannelWritabilityChanged();
    }

    private volatile Runnable whenWritable;

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }

    /** A gateway stream's HTTP/1 answer: 200, JSON, chunked; the connection closes at its end. */
    private final class ChunkedSink implements io.etcetera.server.gateway.GrpcGateway.StreamSink {
      private final ChannelHandlerContext ctx;

      ChunkedSink(ChannelHandlerContext ctx) {
        this.ctx = ctx;
      }

      @Override
      public void start(java.util.Map<String, String> headers) {
        io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultHttpResponse r =
            new io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        r.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE); // the stream's end closes it
        headers.forEach((k, v) -> r.headers().set(k, v));
        ctx.writeAndFlush(r);
      }

      @Override
      public void chunk(String text) {
        ctx.writeAndFlush(new io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultHttpContent(
            Unpooled.copiedBuffer(text, StandardCharsets.UTF_8)));
      }

      @Override
      public void end() {
        ctx.writeAndFlush(io.grpc.netty.shaded.io.netty.handler.codec.http.LastHttpContent.EMPTY_LAST_CONTENT)
            .addListener(ChannelFutureListener.CLOSE);
      }

      @Override
      public boolean isWritable() {
        return ctx.channel().isWritable();
      }

      @Override
      public void onWritable(Runnable r) {
        whenWritable = r;
      }

      @Override
      public void onGone(Runnable r) {
        ctx.channel().closeFuture().addListener(f -> r.run());
      }
    }
  }
}
